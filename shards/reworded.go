package shards

// Reworded returns err under another text, msg, for errors whose words
// must change before anyone reads them (a temporary file's name replaced
// by the object's URL, identifying path segments masked) while errors.Is
// and errors.As still reach err (a quarantine class, ErrChecksum).
func Reworded(err error, msg string) error {
	return &rewordedError{msg: msg, err: err}
}

type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }
