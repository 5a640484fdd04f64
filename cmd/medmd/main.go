// Command medmd builds multimodal radiology training data and trains on it.
//
// Each verb lives in its own file and adds itself to the root command from
// an init function; this file only builds the root and runs it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/medmd/medmd/internal/version"
	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "medmd",
	Short: "Build multimodal radiology training data and train on it",
	Long: `medmd turns DICOM series, NIfTI volumes, PubMed Central articles and public
labelled datasets into one interleaved image–text corpus (MedMD), filters it
into a radiology-only corpus (RadMD), builds leak-free benchmark splits
(RadBench) and trains a 3D-ViT + Perceiver + decoder LM on the shards.

Start with:
  medmd run                      build the bundled sample corpus into out/
  medmd shards stats out/nifti-sample/manifest.json
  medmd inspect FILE             see what medmd reads from a file`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

var verbose bool

func init() {
	rootCmd.Version = version.String()
	rootCmd.SetVersionTemplate("medmd {{.Version}}\n")
	rootCmd.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail to stderr")
	rootCmd.PersistentPreRun = func(cmd *cobra.Command, args []string) {
		level := slog.LevelInfo
		if verbose {
			level = slog.LevelDebug
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		// Libraries that print through the standard log package (the DICOM
		// parser logs every unreadable value) speak only with --verbose:
		// medmd reports bad input itself, once, with the file and reason.
		log.SetFlags(0)
		log.SetOutput(libraryLog{})
	}
}

// libraryLog forwards standard-log lines to slog at debug level.
type libraryLog struct{}

func (libraryLog) Write(p []byte) (int, error) {
	slog.Debug(strings.TrimSpace(string(p)), "from", "library")
	return len(p), nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "medmd:", err)
		var ec exitCoder
		switch {
		case errors.As(err, &ec):
			os.Exit(ec.ExitCode())
		case ctx.Err() != nil:
			// Ctrl-C or SIGTERM: the shell's convention for a run ended by
			// SIGINT, so scripts and job systems can tell it from a failure.
			os.Exit(exitInterrupted)
		}
		os.Exit(1)
	}
}

// exitInterrupted is the exit status of a command stopped by Ctrl-C.
const exitInterrupted = 130

// exitCoder lets a verb choose its exit status (e.g. check-leakage exits 2
// when it finds leaks) while still printing one line.
type exitCoder interface{ ExitCode() int }

// exitError is an error with the exit status it ends medmd with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }
