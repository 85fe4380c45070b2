package audit

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// FuzzReadLog: any bytes are events or a *LogError, never a panic, and
// every event maps to a request.
func FuzzReadLog(f *testing.F) {
	f.Add([]byte(fmt.Sprintf(sampleEvent, 1, 1, 1)))
	f.Add([]byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get","requestURI":"%zz?x","impersonatedUser":{"username":"system:serviceaccount:a"}}`))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tally Tally
		us := NewUsage("f", nil)
		_ = ReadLog("f.log", bytes.NewReader(data), Limits{MaxLine: 1 << 16, MaxRatio: 500}, func(e *Event) error {
			tally.Observe(e, []*Usage{us})
			return nil
		})
	})
}

// FuzzCompare: any audit policy of a pull request is findings, never a
// panic.
func FuzzCompare(f *testing.F) {
	f.Add([]byte(basePolicy), []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [ResponseComplete]\nrules:\n- level: None\n  users: [a]\n  resources: [{group: '*', resources: ['pods/*'], resourceNames: [x]}]\n"))
	f.Add([]byte(basePolicy), []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Bogus}]\n"))
	f.Fuzz(func(t *testing.T, base, head []byte) {
		b, _ := manifest.Decode("p.yaml", base)
		h, _ := manifest.Decode("p.yaml", head)
		Compare("o", b, h, "default")
		Scan("o", h, "default")
	})
}
