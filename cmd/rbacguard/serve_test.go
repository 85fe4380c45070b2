package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

func servePEM(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestServe_Config(t *testing.T) {
	dir := t.TempDir()
	key := servePEM(t)
	keyFile := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Any request reaching "GitHub" is counted: a cancelled serve must
	// not need it, and a test must never reach the network.
	var calls atomic.Int64
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
	}))
	defer gh.Close()

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  []string
	}{
		{
			name:     "missing webhook secret",
			args:     []string{"serve", "--app-id", "1", "--private-key", keyFile},
			wantCode: exitUsage,
			wantErr:  []string{"webhook secret is required", "unsigned deliveries are never accepted"},
		},
		{
			name:     "nothing given",
			args:     []string{"serve"},
			wantCode: exitUsage,
			wantErr:  []string{"app id is required", "private key is required", "webhook secret is required"},
		},
		{
			name:     "unreadable private key file",
			args:     []string{"serve", "--app-id", "1", "--private-key", filepath.Join(dir, "missing.pem"), "--webhook-secret", "s"},
			wantCode: exitUsage,
			wantErr:  []string{"read private key"},
		},
		{
			name:     "private key is not PEM",
			args:     []string{"serve", "--app-id", "1", "--webhook-secret", "s"},
			env:      map[string]string{"RBACGUARD_PRIVATE_KEY": "not-a-key-secretvalue"},
			wantCode: exitUsage,
			wantErr:  []string{"not a PEM-encoded RSA private key"},
		},
		{
			name:     "bad workers from the environment",
			args:     []string{"serve"},
			env:      map[string]string{"RBACGUARD_WORKERS": "many"},
			wantCode: exitUsage,
			wantErr:  []string{"RBACGUARD_WORKERS", "--workers"},
		},
		{
			name:     "bad log level",
			args:     []string{"serve", "--log-level", "chatty"},
			wantCode: exitUsage,
			wantErr:  []string{"--log-level"},
		},
		{
			name:     "negative render cache",
			args:     []string{"serve", "--app-id", "1", "--private-key", keyFile, "--webhook-secret", "s", "--render-cache-bytes", "-1"},
			wantCode: exitUsage,
			wantErr:  []string{"render cache bytes must not be negative (0 turns the cache off)"},
		},
		{
			name: "valid from the environment, stops with its context",
			args: []string{"serve", "--listen", "127.0.0.1:0", "--github-url", gh.URL + "/"},
			env: map[string]string{
				"RBACGUARD_APP_ID":              "42",
				"RBACGUARD_PRIVATE_KEY":         strings.ReplaceAll(string(key), "\n", `\n`),
				"RBACGUARD_WEBHOOK_SECRET_FILE": secretFile,
				"RBACGUARD_DRAIN_DELAY":         "0s",
				"RBACGUARD_METRICS_LISTEN":      "127.0.0.1:0",
			},
			wantCode: exitPass,
		},
		{
			name:     "valid from flags",
			args:     []string{"serve", "--listen", "127.0.0.1:0", "--github-url", gh.URL, "--app-id", "42", "--private-key", keyFile, "--webhook-secret-file", secretFile, "--workers", "2", "--drain-delay", "0s"},
			wantCode: exitPass,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // serve returns as soon as it has started
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string { return tc.env[k] }
			code := run(ctx, tc.args, strings.NewReader(""), &stdout, &stderr, getenv)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			for _, secret := range []string{"PRIVATE KEY", "secretvalue", "from-a-file", string(key[40:80])} {
				if strings.Contains(stderr.String(), secret) || strings.Contains(stdout.String(), secret) {
					t.Errorf("output shows a secret (%q)", secret)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
		})
	}
}

// Every flag of serve can be set by an environment variable, as --help
// says: before, --allow-remote-base, --job-timeout, --shutdown-timeout and
// --stale-after could not.
func TestServe_EveryFlagHasAnEnvironmentVariable(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}
	c := newServeCmd(e)
	envs := serveEnv()
	// The flags as --help lists them (no pflag import: cobra is the
	// module's dependency, pflag only through it).
	names := regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z-]+)`).FindAllStringSubmatch(c.Flags().FlagUsages(), -1)
	if len(names) < 20 {
		t.Fatalf("found %d flags in the usage", len(names))
	}
	for _, m := range names {
		if _, ok := envs[m[1]]; !ok {
			t.Errorf("--%s has no environment variable", m[1])
		}
	}
	set := map[string]string{
		"RBACGUARD_JOB_TIMEOUT": "3m", "RBACGUARD_SHUTDOWN_TIMEOUT": "7s", "RBACGUARD_STALE_AFTER": "1h",
		"RBACGUARD_ALLOW_REMOTE_BASE": "https://a.example/,https://b.example/", "RBACGUARD_METRICS_LISTEN": ":9090",
		"RBACGUARD_RETRY_FOR": "10m", "RBACGUARD_REPLICA_ID": "pod-1", "RBACGUARD_MAX_CONCURRENT_READS": "3",
	}
	var f serveFlags
	c = newServeCmd(e)
	if err := f.fromEnv(c, func(k string) string { return set[k] }); err != nil {
		t.Fatal(err)
	}
	fl := c.Flags()
	for name, want := range map[string]string{
		"job-timeout": "3m0s", "shutdown-timeout": "7s", "stale-after": "1h0m0s", "metrics-listen": ":9090",
		"allow-remote-base": "[https://a.example/,https://b.example/]", "retry-for": "10m0s", "replica-id": "pod-1", "max-concurrent-reads": "3",
	} {
		if got := fl.Lookup(name).Value.String(); got != want {
			t.Errorf("--%s = %s, want %s", name, got, want)
		}
	}
}
