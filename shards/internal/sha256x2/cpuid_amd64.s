//go:build amd64 && !purego

#include "textflag.h"

// func hasSHA() bool: CPUID leaf 7, sub-leaf 0, EBX bit 29.
TEXT ·hasSHA(SB), NOSPLIT, $0-1
	MOVL $7, AX
	MOVL $0, CX
	CPUID
	SHRL $29, BX
	ANDL $1, BX
	MOVB BX, ret+0(FP)
	RET
