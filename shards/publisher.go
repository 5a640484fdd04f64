package shards

// Publisher publishes finished shards in the background, one at a time,
// so that a writer goes on with the next shard while the storage takes
// the last one in (an fsync per file, or a bucket completing multipart
// uploads: time spent waiting, not computing). Shards are published in
// the order they are handed over. The zero value is ready to use; a
// Publisher is used from one goroutine.
type Publisher struct {
	errc chan error // the publish in flight, nil when none is
}

// Go waits for the publish in flight, then runs publish (which ends with
// ShardWriter.Publish, or Abort when that fails) on a goroutine of its
// own, and returns the error of the publish it waited for. It starts
// publish whatever that error, so a finished shard is always either
// published or aborted; a caller that stops on the error calls Wait.
func (p *Publisher) Go(publish func() error) error {
	err := p.Wait()
	p.errc = make(chan error, 1)
	go func() { p.errc <- publish() }()
	return err
}

// Wait waits for the publish in flight, if any, and returns its error.
// Everything the publish wrote is visible to the caller once Wait
// returns.
func (p *Publisher) Wait() error {
	if p.errc == nil {
		return nil
	}
	err := <-p.errc
	p.errc = nil
	return err
}
