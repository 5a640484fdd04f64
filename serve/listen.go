package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ListenAndServe serves s on addr (host:port) until ctx is cancelled,
// then shuts the HTTP server down, giving requests in flight 5 s. Once
// listening it prints one line to announce: how many corpora, the URL and
// whether labels are written. It returns nil after a shutdown by ctx, else
// the listener's or server's error.
func (s *Server) ListenAndServe(ctx context.Context, addr string, announce io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	mode := "read-only"
	if s.labels != nil {
		mode = "labels append to " + s.labels.path
	}
	fmt.Fprintf(announce, "serving %d corpora at http://%s/ (%s); Ctrl-C stops\n", len(s.Corpora()), ln.Addr(), mode)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
