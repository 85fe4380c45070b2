package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/diff/policy"
)

func newPolicyCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "policy",
		Short: "Work with the policy file",
	}
	c.AddCommand(&cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a policy file (default " + policy.DefaultPath + ")",
		Long: `validate reads a policy file and reports every problem at once, each with
its file and line. The exit code is 0 for a valid file and 2 otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := policy.DefaultPath
			if len(args) == 1 {
				name = args[0]
			}
			if _, err := os.Stat(name); err != nil {
				return fmt.Errorf("policy file %s: %w", name, err)
			}
			fsys, rel, err := localFile(name)
			if err != nil {
				return err
			}
			if err := policy.ValidateFile(fsys, rel); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s: valid\n", name)
			return err
		},
	})
	return c
}

// localFile opens a file of the local disk as an fs.FS and a name in it,
// keeping the name as the user wrote it when it lies below the current
// directory, so that messages say "policy.yaml:3", not an absolute path.
func localFile(name string) (fs.FS, string, error) {
	if filepath.IsLocal(name) {
		return os.DirFS("."), filepath.ToSlash(filepath.Clean(name)), nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, "", err
	}
	return os.DirFS(filepath.Dir(abs)), filepath.Base(abs), nil
}
