package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"

	"github.com/spf13/cobra"
)

// Exit codes: the gate's answer, or a usage or input problem.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// env is what a command may touch of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	log            *slog.Logger
}

// errGateFailed carries a failed verdict out of a command: not an error to
// print, just exit code 1.
var errGateFailed = errors.New("gate failed")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	root := &cobra.Command{
		Use:   "rbacguard",
		Short: "Stop silent privilege escalation in Kubernetes pull requests",
		Long: `rbacguard renders a repository's Kubernetes manifests and kustomize overlays,
computes the effective RBAC permissions of every service account, user and group,
and reports what a change adds: on the terminal, as JSON, Markdown or SARIF, or as
GitHub check runs and review comments.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("rbacguard {{.Version}}\n") // as the version command prints it
	// kustomize prints deprecation notes through the standard logger;
	// stdout and stderr belong to the report and our own messages.
	log.SetOutput(io.Discard)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newDiffCmd(e), newScanCmd(e), newPolicyCmd(e), newVersionCmd(e))
	root.AddCommand(newServeCmd(e))
	root.AddCommand(newActionCmd(e))
	root.AddCommand(newWhoCanCmd(e))
	root.AddCommand(newCanICmd(e))
	root.AddCommand(newDriftCmd(e))
	root.AddCommand(newExportCmd(e))
	root.AddCommand(newUnusedCmd(e))
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitPass
	case errors.Is(err, errGateFailed):
		return exitFail
	}
	fmt.Fprintf(stderr, "rbacguard: %v\n", err)
	return exitUsage
}
