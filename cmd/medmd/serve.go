package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/serve"
)

func init() {
	var addr, labels string
	cmd := &cobra.Command{
		Use:   "serve MANIFEST... [--addr 127.0.0.1:8080] [--labels FILE]",
		Short: "Browse corpora, audit RadMD and label samples in a web browser",
		Long: `serve opens a browser view of one or more corpora: a manifest.json, a corpus
folder, a RadMD output folder (its exclusion report is shown rule by rule) or a
RadBench output folder (every split). Pages: / (overview), /samples?q=…
(search and filters), /samples/{id} (one sample, its images where the text
places them, slice sliders for volumes), /radmd, /radbench.

Each corpus is indexed once from its Arrow shards; the index is saved beside
the manifest (serve-index.gob) and rebuilt when the manifest changes. It keeps
each image's dHash and each text's hash, so a sample page links the
near-duplicates of the sample in every served corpus.

A corpus given by object-store URL (its folder's or its manifest.json's) is
staged first, as 'medmd shards stage' does into the user's cache.

It listens on 127.0.0.1 unless --addr says otherwise, and is read-only unless
--labels FILE is given: then each sample page has keep / drop / unsure buttons
that append to FILE, for medmd radmd eval --labels FILE and medmd radmd
--overrides FILE.`,
		Example: `  medmd serve out/pmc-sample
  medmd serve out/medmd out/radmd --labels labels.jsonl
  medmd serve out/radbench --addr 127.0.0.1:9000`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			for i, a := range args {
				st, err := stageCorpus(cmd, a, ingest.StageOptions{})
				if err != nil {
					return err
				}
				args[i] = st.Manifest
			}
			srv, err := serve.New(ctx, args, serve.Options{Labels: labels})
			if err != nil {
				return err
			}
			defer srv.Close()
			return srv.ListenAndServe(ctx, addr, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	cmd.Flags().StringVar(&labels, "labels", "", "curator labels JSONL to append to (enables the label buttons)")
	rootCmd.AddCommand(cmd)
}
