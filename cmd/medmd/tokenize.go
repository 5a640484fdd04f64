package main

import (
	"os"

	"github.com/medmd/medmd/train/tokenizer"
	"github.com/spf13/cobra"
)

func init() {
	var path string
	var decode bool
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer tokenizer.json [--decode]",
		Short: "Token ids of each stdin line, as Hugging Face tokenizers gives them",
		Long: `Reads lines on stdin and prints one JSON array of token ids per line, equal
to Hugging Face tokenizers' encode(line, add_special_tokens=False) for a
byte-level BPE tokenizer.json (LLaMA-3, GPT-2 style, medmd's own) or a
SentencePiece-style one (LLaMA-2). --decode reads one JSON array per line and
prints the text (special tokens skipped). A gzipped tokenizer.json works too.`,
		Example: `  echo 'No acute findings.' | medmd tokenize --tokenizer out/train/tokenizer.json
  echo '[1, 2, 3]' | medmd tokenize --tokenizer out/train/tokenizer.json --decode`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := tokenizer.Load(path)
			if err != nil {
				return err
			}
			if decode {
				return tok.DecodeLines(os.Stdin, os.Stdout)
			}
			return tok.EncodeLines(os.Stdin, os.Stdout)
		},
	}
	cmd.Flags().StringVar(&path, "tokenizer", "", "Hugging Face tokenizer.json (required)")
	cmd.Flags().BoolVar(&decode, "decode", false, "ids to text instead of text to ids")
	cmd.MarkFlagRequired("tokenizer")
	rootCmd.AddCommand(cmd)
}
