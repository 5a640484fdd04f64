// Package azuretest starts Azurite, Microsoft's Azure Storage emulator
// (npm package azurite, installed into interop/node_modules by `make
// deps-npm`), on the loopback interface for tests, and sets the
// environment a client uses for it (its well-known development account),
// so azblob:// roots talk real Azure Blob HTTP through the SDK gocloud
// uses.
package azuretest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/medmd/medmd/internal/testtree"
)

// Azurite's development account, documented by Microsoft for the
// emulator (it opens nothing else).
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running Azurite blob service.
type Server struct {
	// Host is its host:port.
	Host   string
	client *azblob.Client
}

// Start starts Azurite's blob service with the given containers and sets
// AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY for the test; it stops when
// the test ends. It skips the test when Azurite is not installed.
func Start(t testing.TB, containers ...string) *Server {
	t.Helper()
	bin := azuriteBlob()
	if bin == "" {
		t.Skip("azurite not installed: run `make deps-npm` (npm ci into interop/node_modules; .ci/run does it) or set MEDMD_NODE_MODULES to a node_modules holding it, to enable this Azure Blob test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", t.TempDir(), "--silent", "--skipApiVersionCheck", "--loose")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("azurite: %v", err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	s := &Server{Host: fmt.Sprintf("127.0.0.1:%d", port)}
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", s.Host)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("azurite did not listen on %s: %v", s.Host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Setenv("AZURE_STORAGE_ACCOUNT", Account)
	t.Setenv("AZURE_STORAGE_KEY", Key)
	cred, err := azblob.NewSharedKeyCredential(Account, Key)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential("http://"+s.Host+"/"+Account, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers {
		if _, err := client.CreateContainer(context.Background(), c, nil); err != nil {
			t.Fatalf("create container %s: %v", c, err)
		}
	}
	s.client = client
	return s
}

// Put uploads data as blob name of container.
func (s *Server) Put(t testing.TB, container, name string, data []byte) {
	t.Helper()
	if _, err := s.client.UploadBuffer(context.Background(), container, name, data, nil); err != nil {
		t.Fatalf("put %s/%s: %v", container, name, err)
	}
}

// URL returns the azblob:// root of container/prefix on the server, with
// gocloud's parameters for an emulator.
func (s *Server) URL(container, prefix string) string {
	u := "azblob://" + container
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?localemu=true&protocol=http&domain=" + s.Host
}

// azuriteBlob returns the path of the azurite-blob command, "" if absent.
func azuriteBlob() string {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..", "..")
	for _, dir := range []string{os.Getenv("MEDMD_NODE_MODULES"), filepath.Join(repo, "interop", "node_modules")} {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, ".bin", "azurite-blob"); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// PutDir uploads every regular file under dir to container, each under
// prefix + its slash-separated path relative to dir (prefix "" or ending
// in "/").
func (s *Server) PutDir(t testing.TB, container, prefix, dir string) {
	t.Helper()
	testtree.Each(t, dir, func(rel string, data []byte) { s.Put(t, container, prefix+rel, data) })
}
