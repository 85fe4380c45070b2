// Package scripts holds the tests of the shell scripts beside them. They
// run the scripts with bash against GitHub faked on loopback, so the
// Action's download path is tested offline on every change.
//
// .ci/run also hands TestInstallAction_WarmStart the binary scripts/build.sh
// just built (RBACGUARD_TEST_BINARY, RBACGUARD_TEST_VERSION), so the whole
// path — build, publish, download, verify, cache, run — is exercised with a
// real release binary.
package scripts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const actionRepo = "rbacguard/rbacguard"

// fakeReleases serves GitHub's release download URLs,
// /OWNER/REPO/releases/download/TAG/ASSET, from memory, and 404 for any
// other path, as GitHub does for a missing release or asset.
type fakeReleases struct {
	mu       sync.Mutex
	files    map[string][]byte // "TAG/ASSET"
	requests []string          // "TAG/ASSET", in arrival order
}

func newFakeReleases(t *testing.T) (*fakeReleases, string) {
	f := &fakeReleases{files: map[string][]byte{}}
	prefix := "/" + actionRepo + "/releases/download/"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		f.mu.Lock()
		f.requests = append(f.requests, name)
		b, found := f.files[name]
		f.mu.Unlock()
		if r.Method != http.MethodGet || !ok || !found {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(ts.Close)
	return f, ts.URL
}

// publish adds a release: its assets and a checksums.txt listing sums
// (the true SHA-256 of each asset where sums has none).
func (f *fakeReleases) publish(tag string, assets map[string][]byte, sums map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list strings.Builder
	for name, b := range assets {
		sum, ok := sums[name]
		if !ok {
			sum = sha256hex(b)
		}
		list.WriteString(sum + "  " + name + "\n")
		f.files[tag+"/"+name] = b
	}
	for name, sum := range sums {
		if _, ok := assets[name]; !ok {
			list.WriteString(sum + "  " + name + "\n")
		}
	}
	f.files[tag+"/checksums.txt"] = []byte(list.String())
}

func (f *fakeReleases) takeRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// runner is the GitHub runner the script believes it is on: this machine,
// named as RUNNER_OS and RUNNER_ARCH name it.
type runner struct{ os, arch, asset, cacheArch string }

func hostRunner(t *testing.T) runner {
	names := map[string]string{"linux": "Linux", "darwin": "macOS", "amd64": "X64", "arm64": "ARM64"}
	r := runner{os: names[runtime.GOOS], arch: names[runtime.GOARCH], asset: "rbacguard-" + runtime.GOOS + "-" + runtime.GOARCH, cacheArch: strings.ToLower(names[runtime.GOARCH])}
	if r.os == "" || r.arch == "" || r.asset == "rbacguard-darwin-amd64" {
		t.Skipf("no release binary for %s/%s, the platform running this test", runtime.GOOS, runtime.GOARCH)
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the install script needs %s, as every GitHub runner has: %v", tool, err)
		}
	}
	return r
}

// stubBinary stands in for a release binary: the script treats it as
// opaque bytes, and it runs anywhere bash does.
var stubBinary = []byte("#!/bin/sh\necho rbacguard v1.2.3\n")

type installResult struct {
	code                   int
	stdout, stderr, output string // output: what the script appended to GITHUB_OUTPUT
}

// path is the binary the script installed, from its step output.
func (r installResult) path() string {
	p, _ := strings.CutPrefix(strings.TrimSpace(r.output), "path=")
	return p
}

type install struct {
	downloadURL, toolCache string
	r                      runner
}

// run runs install-action.sh as action.yml does, in an environment of
// its own; env adds or overrides variables.
func (in install) run(t *testing.T, ref string, env ...string) installResult {
	t.Helper()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "github_output")
	// Read here, not by bash, so that go test's cache knows the result
	// depends on the script.
	script, err := os.ReadFile("install-action.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", string(script), "install-action.sh")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT=" + out,
		"RUNNER_OS=" + in.r.os,
		"RUNNER_ARCH=" + in.r.arch,
		"RUNNER_TEMP=" + tmp,
		"RUNNER_TOOL_CACHE=" + in.toolCache,
		"RBACGUARD_DOWNLOAD_URL=" + in.downloadURL,
		"RBACGUARD_ACTION_REPOSITORY=" + actionRepo,
		"RBACGUARD_ACTION_REF=" + ref,
	}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := installResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run install-action.sh: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	res.output = string(b)
	return res
}

// Exit codes of install-action.sh, as action.yml reads them.
const (
	installed = 0
	refused   = 1
	fallBack  = 3
)

func TestInstallAction(t *testing.T) {
	r := hostRunner(t)
	wrongSum := sha256hex([]byte("something else"))
	tests := []struct {
		name string
		ref  string
		env  []string
		// publish fills the fake release server.
		publish  func(f *fakeReleases)
		wantCode int
		// wantStderr matches what the script tells the job log.
		wantStderr string
		// wantRequests are the files fetched from the release.
		wantRequests []string
		// wantCached is the binary's place in the tool cache, when
		// installed.
		wantCached string
	}{{
		name:         "release tag: downloaded, verified, cached",
		ref:          "v1.2.3",
		publish:      func(f *fakeReleases) { f.publish("v1.2.3", map[string][]byte{r.asset: stubBinary}, nil) },
		wantCode:     installed,
		wantStderr:   `installed ` + r.asset + ` of v1\.2\.3 \(sha256 [0-9a-f]{64}\)`,
		wantRequests: []string{"v1.2.3/checksums.txt", "v1.2.3/" + r.asset},
		wantCached:   "1.2.3/" + r.cacheArch + "/rbacguard",
	}, {
		name:         "moving major tag",
		ref:          "v1",
		publish:      func(f *fakeReleases) { f.publish("v1", map[string][]byte{r.asset: stubBinary}, nil) },
		wantCode:     installed,
		wantRequests: []string{"v1/checksums.txt", "v1/" + r.asset},
		wantCached:   "1/" + r.cacheArch + "/rbacguard",
	}, {
		name: "other platforms' assets and binary-mode lines do not confuse the lookup",
		ref:  "v1.2.3",
		publish: func(f *fakeReleases) {
			f.publish("v1.2.3", map[string][]byte{"rbacguard-windows-amd64.exe": []byte("x"), r.asset + ".sig": []byte("y")}, nil)
			f.files["v1.2.3/"+r.asset] = stubBinary
			f.files["v1.2.3/checksums.txt"] = append(f.files["v1.2.3/checksums.txt"], []byte(sha256hex(stubBinary)+" *"+r.asset+"\n")...)
		},
		wantCode:   installed,
		wantCached: "1.2.3/" + r.cacheArch + "/rbacguard",
	}, {
		name: "wrong checksum: refused, nothing cached",
		ref:  "v1.2.3",
		publish: func(f *fakeReleases) {
			f.publish("v1.2.3", map[string][]byte{r.asset: stubBinary}, map[string]string{r.asset: wrongSum})
		},
		wantCode:     refused,
		wantStderr:   `refusing to run ` + r.asset + ` of release v1\.2\.3: its SHA-256 is ` + sha256hex(stubBinary) + `, checksums.txt says ` + wrongSum,
		wantRequests: []string{"v1.2.3/checksums.txt", "v1.2.3/" + r.asset},
	}, {
		name: "checksums.txt with a malformed sum: refused",
		ref:  "v1.2.3",
		publish: func(f *fakeReleases) {
			f.publish("v1.2.3", map[string][]byte{r.asset: stubBinary}, map[string]string{r.asset: "not-a-sum"})
		},
		wantCode:     refused,
		wantStderr:   `refusing to run ` + r.asset + ` of release v1\.2\.3: checksums.txt has no single SHA-256 for it`,
		wantRequests: []string{"v1.2.3/checksums.txt"},
	}, {
		name:         "asset missing from the release: fall back",
		ref:          "v1.2.3",
		publish:      func(f *fakeReleases) { f.publish("v1.2.3", nil, map[string]string{r.asset: sha256hex(stubBinary)}) },
		wantCode:     fallBack,
		wantStderr:   `release v1\.2\.3 of rbacguard/rbacguard has no ` + r.asset + ` — building rbacguard from the action's source instead`,
		wantRequests: []string{"v1.2.3/checksums.txt", "v1.2.3/" + r.asset},
	}, {
		name: "asset not listed in checksums.txt: fall back without downloading it",
		ref:  "v1.2.3",
		publish: func(f *fakeReleases) {
			f.publish("v1.2.3", map[string][]byte{"rbacguard-windows-amd64.exe": []byte("x")}, nil)
		},
		wantCode:     fallBack,
		wantStderr:   `checksums.txt of v1\.2\.3 lists no ` + r.asset,
		wantRequests: []string{"v1.2.3/checksums.txt"},
	}, {
		name:         "tag without a release: fall back",
		ref:          "v9.9.9",
		publish:      func(*fakeReleases) {},
		wantCode:     fallBack,
		wantStderr:   `release v9\.9\.9 of rbacguard/rbacguard has no checksums.txt`,
		wantRequests: []string{"v9.9.9/checksums.txt"},
	}, {
		name:       "branch: fall back without a request",
		ref:        "main",
		publish:    func(*fakeReleases) {},
		wantCode:   fallBack,
		wantStderr: `ref "main" is not a release tag`,
	}, {
		name:       "commit SHA: fall back without a request",
		ref:        "998128f0da0f5e708cde68eb4078cc807b93053f",
		publish:    func(*fakeReleases) {},
		wantCode:   fallBack,
		wantStderr: `is not a release tag`,
	}, {
		name:       "a tag that would leave the release's URL: fall back",
		ref:        "v1.2.3/../../v6.6.6",
		publish:    func(*fakeReleases) {},
		wantCode:   fallBack,
		wantStderr: `is not a release tag`,
	}, {
		name:       "local action (uses: ./)",
		ref:        "",
		env:        []string{"RBACGUARD_ACTION_REPOSITORY="},
		publish:    func(*fakeReleases) {},
		wantCode:   fallBack,
		wantStderr: `a local action \(uses: \./\) has no release`,
	}, {
		name: "ref and repository read from the action's path when the expressions are empty",
		ref:  "",
		env: []string{"RBACGUARD_ACTION_REPOSITORY=",
			"GITHUB_ACTION_PATH=/home/runner/work/_actions/" + actionRepo + "/v1.2.3"},
		publish:      func(f *fakeReleases) { f.publish("v1.2.3", map[string][]byte{r.asset: stubBinary}, nil) },
		wantCode:     installed,
		wantRequests: []string{"v1.2.3/checksums.txt", "v1.2.3/" + r.asset},
		wantCached:   "1.2.3/" + r.cacheArch + "/rbacguard",
	}, {
		name:       "runner without a release binary (Intel macOS)",
		ref:        "v1.2.3",
		env:        []string{"RUNNER_OS=macOS", "RUNNER_ARCH=X64"},
		publish:    func(f *fakeReleases) { f.publish("v1.2.3", map[string][]byte{r.asset: stubBinary}, nil) },
		wantCode:   fallBack,
		wantStderr: `no release binary for macOS/X64`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, url := newFakeReleases(t)
			tc.publish(f)
			in := install{downloadURL: url, toolCache: t.TempDir(), r: r}
			res := in.run(t, tc.ref, tc.env...)
			if res.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", res.code, tc.wantCode, res.stderr)
			}
			if tc.wantStderr != "" && !regexp.MustCompile(tc.wantStderr).MatchString(res.stderr) {
				t.Errorf("stderr %q does not match %q", res.stderr, tc.wantStderr)
			}
			if got := f.takeRequests(); tc.wantRequests != nil && strings.Join(got, " ") != strings.Join(tc.wantRequests, " ") {
				t.Errorf("requests %q, want %q", got, tc.wantRequests)
			}
			// A refusal shows on the job as an error annotation, not only
			// in its log.
			if tc.wantCode == refused && !strings.Contains(res.stdout, "::error title=rbacguard download not verified::refusing") {
				t.Errorf("stdout %q has no error annotation", res.stdout)
			}
			if tc.wantCode != installed {
				if res.output != "" {
					t.Errorf("step output %q, want none: action.yml must not find a binary to run", res.output)
				}
				if entries, _ := os.ReadDir(in.toolCache); len(entries) != 0 {
					t.Errorf("tool cache holds %v, want nothing", entries)
				}
				return
			}
			want := filepath.Join(in.toolCache, "rbacguard", tc.wantCached)
			if res.path() != want {
				t.Fatalf("installed at %q, want %q", res.path(), want)
			}
			out, err := exec.Command(res.path(), "--version").Output()
			if err != nil || string(out) != "rbacguard v1.2.3\n" {
				t.Errorf("installed binary: %q, %v", out, err)
			}
		})
	}
}

// A warm tool cache costs one small request (checksums.txt); a cached file
// that no longer matches is replaced, never run.
func TestInstallAction_Cache(t *testing.T) {
	r := hostRunner(t)
	f, url := newFakeReleases(t)
	f.publish("v1.2.3", map[string][]byte{r.asset: stubBinary}, nil)
	in := install{downloadURL: url, toolCache: t.TempDir(), r: r}

	first := in.run(t, "v1.2.3")
	if first.code != installed {
		t.Fatalf("first run: exit %d\n%s", first.code, first.stderr)
	}
	f.takeRequests()
	second := in.run(t, "v1.2.3")
	if second.code != installed || second.path() != first.path() {
		t.Fatalf("second run: exit %d, path %q, want %q\n%s", second.code, second.path(), first.path(), second.stderr)
	}
	if got := f.takeRequests(); strings.Join(got, " ") != "v1.2.3/checksums.txt" {
		t.Errorf("warm cache fetched %q, want only checksums.txt", got)
	}
	if !strings.Contains(second.stderr, "from the tool cache") {
		t.Errorf("stderr %q does not say the cache was used", second.stderr)
	}

	// Something rewrote the cached binary.
	if err := os.WriteFile(first.path(), []byte("#!/bin/sh\necho tampered\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	third := in.run(t, "v1.2.3")
	if third.code != installed {
		t.Fatalf("after tampering: exit %d\n%s", third.code, third.stderr)
	}
	if got := f.takeRequests(); strings.Join(got, " ") != "v1.2.3/checksums.txt v1.2.3/"+r.asset {
		t.Errorf("after tampering fetched %q, want checksums.txt and the asset", got)
	}
	if b, _ := os.ReadFile(third.path()); !bytes.Equal(b, stubBinary) {
		t.Errorf("cached binary %q, want the release's", b)
	}

	// The moving major tag moved to a new release: its new binary replaces
	// the cached one.
	newer := []byte("#!/bin/sh\necho rbacguard v1.2.4\n")
	f.publish("v1", map[string][]byte{r.asset: stubBinary}, nil)
	if res := in.run(t, "v1"); res.code != installed {
		t.Fatalf("v1: exit %d\n%s", res.code, res.stderr)
	}
	f.publish("v1", map[string][]byte{r.asset: newer}, nil)
	res := in.run(t, "v1")
	if res.code != installed {
		t.Fatalf("v1 moved: exit %d\n%s", res.code, res.stderr)
	}
	if out, err := exec.Command(res.path(), "--version").Output(); err != nil || string(out) != "rbacguard v1.2.4\n" {
		t.Errorf("after v1 moved, the cached binary says %q, %v; want v1.2.4", out, err)
	}
}

// TestInstallAction_WarmStart installs a real release binary, built by
// scripts/build.sh, from the fake release, twice, and runs it on the
// example: the Action's start-to-verdict time with a warm tool cache.
// .ci/run sets RBACGUARD_TEST_BINARY; alone, there is no binary to test.
func TestInstallAction_WarmStart(t *testing.T) {
	bin, version := os.Getenv("RBACGUARD_TEST_BINARY"), os.Getenv("RBACGUARD_TEST_VERSION")
	if bin == "" || version == "" {
		t.Skip("RBACGUARD_TEST_BINARY and RBACGUARD_TEST_VERSION are set by .ci/run after scripts/build.sh")
	}
	r := hostRunner(t)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	f, url := newFakeReleases(t)
	f.publish(version, map[string][]byte{r.asset: b}, nil)
	in := install{downloadURL: url, toolCache: t.TempDir(), r: r}
	if res := in.run(t, version); res.code != installed {
		t.Fatalf("cold install: exit %d\n%s", res.code, res.stderr)
	}

	start := time.Now()
	res := in.run(t, version)
	if res.code != installed {
		t.Fatalf("warm install: exit %d\n%s", res.code, res.stderr)
	}
	installed := time.Since(start)
	out, err := exec.Command(res.path(), "--version").Output()
	if err != nil || string(out) != "rbacguard "+version+"\n" {
		t.Fatalf("%s --version: %q, %v; want rbacguard %s", res.path(), out, err, version)
	}
	verdictStart := time.Now()
	cmd := exec.Command(res.path(), "diff", "../testdata/example/base", "../testdata/example/head", "-o", "json")
	out, err = cmd.Output()
	verdict := time.Since(verdictStart)
	// The example raises privileges at high: the gate fails, exit 1.
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !bytes.Contains(out, []byte(`"verdict": "fail"`)) {
		t.Fatalf("rbacguard diff on the example: %v, want exit 1 and a failing verdict\n%.300s", err, out)
	}
	t.Logf("warm start: install %v + verdict on the example %v = %v (binary %d bytes)", installed.Round(time.Millisecond), verdict.Round(time.Millisecond), (installed + verdict).Round(time.Millisecond), len(b))
}

// actionStep is one step of action.yml's composite run.
type actionStep struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

func actionSteps(t *testing.T) map[string]actionStep {
	t.Helper()
	b, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Runs struct {
			Using string       `yaml:"using"`
			Steps []actionStep `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if action.Runs.Using != "composite" {
		t.Fatalf("action.yml runs using %q, want composite", action.Runs.Using)
	}
	steps := map[string]actionStep{}
	for _, s := range action.Runs.Steps {
		if s.Uses != "" {
			s.ID, _, _ = strings.Cut(s.Uses, "@")
		}
		steps[s.ID] = s
	}
	return steps
}

// action.yml's glue: the download step's script turns the install
// script's exit status into the outputs the later steps act on, and the
// run step runs whichever binary came out.
func TestActionYML(t *testing.T) {
	r := hostRunner(t)
	steps := actionSteps(t)
	download, build, run := steps["download"], steps["build"], steps["run"]
	setupGo := steps["actions/setup-go"]
	for _, s := range []actionStep{setupGo, build} {
		if s.If != "steps.download.outputs.build == 'true'" {
			t.Errorf("step %s runs if %q, want only when the download falls back", s.ID, s.If)
		}
	}
	if got := run.Env["RBACGUARD_BIN"]; got != "${{ steps.download.outputs.path || steps.build.outputs.path }}" {
		t.Errorf("run step's binary %q", got)
	}
	if download.Env["RBACGUARD_ACTION_REF"] != "${{ github.action_ref }}" || download.Env["RBACGUARD_ACTION_REPOSITORY"] != "${{ github.action_repository }}" {
		t.Errorf("download step env %v does not pass the action's ref and repository", download.Env)
	}

	// The step runs the script by path; opened here too, so that go
	// test's cache knows the result depends on it.
	if _, err := os.ReadFile("install-action.sh"); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	f, url := newFakeReleases(t)
	f.publish("v1.2.3", map[string][]byte{r.asset: stubBinary}, nil)
	f.publish("v6.6.6", map[string][]byte{r.asset: stubBinary}, map[string]string{r.asset: sha256hex(nil)})
	for _, tc := range []struct {
		ref        string
		wantCode   int
		wantOutput string
	}{
		{"v1.2.3", 0, "path=" + "TOOLCACHE/rbacguard/1.2.3/" + r.cacheArch + "/rbacguard\n"},
		{"main", 0, "build=true\n"},
		{"v9.9.9", 0, "build=true\n"},
		{"v6.6.6", refused, ""},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			tmp, cache := t.TempDir(), t.TempDir()
			out := filepath.Join(tmp, "github_output")
			cmd := exec.Command("bash", "-e", "-c", download.Run)
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"),
				"GITHUB_ACTION_PATH=" + root,
				"GITHUB_OUTPUT=" + out,
				"RUNNER_OS=" + r.os, "RUNNER_ARCH=" + r.arch,
				"RUNNER_TEMP=" + tmp, "RUNNER_TOOL_CACHE=" + cache,
				"RBACGUARD_DOWNLOAD_URL=" + url,
				"RBACGUARD_ACTION_REPOSITORY=" + actionRepo,
				"RBACGUARD_ACTION_REF=" + tc.ref,
			}
			b, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Fatalf("download step: exit %d, want %d\n%s", code, tc.wantCode, b)
			}
			got, _ := os.ReadFile(out)
			if want := strings.ReplaceAll(tc.wantOutput, "TOOLCACHE", cache); string(got) != want {
				t.Errorf("step outputs %q, want %q", got, want)
			}
		})
	}
}
