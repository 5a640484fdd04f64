package storage

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestOtherCloudDrivers opens gs:// and azblob:// roots (their drivers
// are linked in) against a closed port on the loopback interface, so
// nothing leaves the machine: opening succeeds without I/O and the first
// listing fails with an error naming the root.
func TestOtherCloudDrivers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	// Emulator settings keep the SDKs from looking for credentials on the
	// network (metadata servers) and send their requests to the closed port.
	t.Setenv("STORAGE_EMULATOR_HOST", closed)
	t.Setenv("AZURE_STORAGE_ACCOUNT", "devstoreaccount1")
	t.Setenv("AZURE_STORAGE_KEY", "ZGV2c3RvcmVhY2NvdW50MQ==")
	tests := []struct {
		root, want string
	}{
		{"gs://medmd-scans/ct", "gs://medmd-scans/ct"},
		{"azblob://scans?localemu=true&protocol=http&domain=" + closed, "azblob://scans"},
	}
	for _, tc := range tests {
		t.Run(strings.Split(tc.root, ":")[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b, err := Open(ctx, tc.root, Options{Retries: -1})
			if err != nil {
				t.Fatalf("open %s: %v", tc.root, err)
			}
			defer b.Close()
			err = b.List(ctx, "", func(Object) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("listing through a closed port: %v, want an error naming %s", err, tc.want)
			}
			t.Logf("%v", err)
		})
	}
}
