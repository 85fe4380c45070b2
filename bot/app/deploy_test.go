package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	line      int
}

func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	sc := bufio.NewScanner(bytes.NewReader(b))
	var cur strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		cur.Reset()
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "../../Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a small final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if got := build[0].args; !regexp.MustCompile(`^(--platform=\$BUILDPLATFORM )?golang:1\.26(\S*)? AS build$`).MatchString(got) {
		t.Errorf("build stage FROM %q, want golang:1.26 AS build", got)
	}
	if got := final[0].args; !strings.HasPrefix(got, "gcr.io/distroless/static") || !strings.Contains(got, "nonroot") {
		t.Errorf("final stage FROM %q, want distroless static nonroot", got)
	}
	env := ""
	for _, in := range build {
		if in.cmd == "ENV" || in.cmd == "ARG" {
			env += " " + in.args
		}
	}
	for _, want := range []string{"GOTOOLCHAIN=local", "CGO_ENABLED=0"} {
		if !strings.Contains(env, want) {
			t.Errorf("build stage does not set %s", want)
		}
	}
	var user, entrypoint string
	copied := false
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			copied = copied || strings.HasPrefix(in.args, "--from=build ")
		case "RUN":
			t.Errorf("Dockerfile:%d: RUN in the final stage (distroless has no shell)", in.line)
		}
	}
	if user != "65532" && !strings.HasPrefix(user, "65532:") {
		t.Errorf("final USER %q, want 65532 (nonroot)", user)
	}
	var argv []string
	if err := json.Unmarshal([]byte(entrypoint), &argv); err != nil || len(argv) == 0 || filepath.Base(argv[0]) != "rbacguard" {
		t.Errorf("ENTRYPOINT %s, want the exec form running rbacguard", entrypoint)
	}
	if !copied {
		t.Error("final stage copies nothing from the build stage")
	}
	for _, st := range stages {
		for _, in := range st {
			if in.cmd == "ADD" && regexp.MustCompile(`(?i)https?://|git@`).MatchString(in.args) {
				t.Errorf("Dockerfile:%d: ADD from a URL (unverified download)", in.line)
			}
			if in.cmd == "RUN" && regexp.MustCompile(`\b(curl|wget)\b`).MatchString(in.args) {
				t.Errorf("Dockerfile:%d: RUN downloads outside the module proxy", in.line)
			}
		}
	}
}

// The App's own manifests pass `rbacguard scan` cleanly and hold no
// cluster access and no secret values.
func TestDeployManifests(t *testing.T) {
	tree, err := source.Dir("../../deploy", source.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	r, err := diff.Scan(context.Background(), tree, diff.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != report.Pass || len(r.Findings) != 0 {
		t.Errorf("scan: %s with %d findings: %+v", r.Verdict, len(r.Findings), r.Findings)
	}
	if len(r.Overlays) != 1 || r.Overlays[0].Status != report.OverlayRendered {
		t.Errorf("overlays = %+v, want deploy/ rendered", r.Overlays)
	}

	kinds := map[string]map[string]any{}
	for _, name := range tree.Files() {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		b, _ := tree.(interface{ ReadFile(string) ([]byte, error) }).ReadFile(name)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if k, _ := doc["kind"].(string); k != "" {
				kinds[k] = doc
			}
		}
	}
	for _, k := range []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Secret"} {
		if _, ok := kinds[k]; ok {
			t.Errorf("deploy/ has a %s: the App needs no cluster access and secrets are referenced, not shipped", k)
		}
	}
	for _, k := range []string{"Deployment", "Service", "ServiceAccount", "NetworkPolicy", "Kustomization"} {
		if _, ok := kinds[k]; !ok {
			t.Errorf("deploy/ lacks a %s", k)
		}
	}
	if sa := kinds["ServiceAccount"]; sa["automountServiceAccountToken"] != false {
		t.Error("ServiceAccount mounts its token")
	}
	pod := dig(kinds["Deployment"], "spec", "template", "spec")
	if pod["automountServiceAccountToken"] != false {
		t.Error("pod mounts a service-account token")
	}
	if dig(pod, "securityContext")["runAsNonRoot"] != true {
		t.Error("pod may run as root")
	}
	// The grace period covers the preStop sleep, the drain delay, the
	// shutdown timeout and the hand-back window, as serve spends them.
	containers, _ := pod["containers"].([]any)
	for _, c := range containers {
		cm := c.(map[string]any)
		pre := dig(cm, "lifecycle", "preStop", "sleep")["seconds"]
		preS, _ := pre.(int)
		if preS <= 0 {
			t.Errorf("container has no preStop sleep: %v", dig(cm, "lifecycle"))
		}
		flags := map[string]time.Duration{"--drain-delay": DefaultConfig().DrainDelay, "--shutdown-timeout": DefaultConfig().ShutdownTimeout}
		args, _ := cm["args"].([]any)
		for _, a := range args {
			k, v, _ := strings.Cut(a.(string), "=")
			if _, ok := flags[k]; ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Fatalf("%s: %v", a, err)
				}
				flags[k] = d
			}
		}
		need := time.Duration(preS)*time.Second + flags["--drain-delay"] + flags["--shutdown-timeout"] + DefaultConfig().HandBackTimeout
		grace, _ := pod["terminationGracePeriodSeconds"].(int)
		if time.Duration(grace)*time.Second < need {
			t.Errorf("terminationGracePeriodSeconds %d < preStop + drain + shutdown + hand-back = %s", grace, need)
		}
	}
	for _, c := range containers {
		sc := dig(c.(map[string]any), "securityContext")
		if sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
			t.Errorf("container securityContext %v", sc)
		}
	}
}

func dig(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		next, _ := m[p].(map[string]any)
		m = next
	}
	if m == nil {
		return map[string]any{}
	}
	return m
}
