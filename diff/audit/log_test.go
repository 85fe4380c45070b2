package audit

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

const sampleEvent = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"%d","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/secrets/k%d","verb":"get","user":{"username":"system:serviceaccount:shop:checkout","groups":["system:serviceaccounts","system:serviceaccounts:shop","system:authenticated"]},"sourceIPs":["10.0.0.12"],"userAgent":"checkout/1.0","objectRef":{"resource":"secrets","namespace":"shop","name":"k%d","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-01T10:00:00.000000Z","stageTimestamp":"2026-11-01T10:00:00.000100Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}` + "\n"

func gz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

func count(r io.Reader) (int, error) {
	n := 0
	err := ReadLog("audit.log", r, DefaultLimits(), func(*Event) error { n++; return nil })
	return n, err
}

func TestReadLog_PlainAndGzip(t *testing.T) {
	var log []byte
	for i := range 3 {
		log = fmt.Appendf(log, sampleEvent, i, i, i)
	}
	for name, data := range map[string][]byte{"plain": log, "gzip": gz(t, log)} {
		n, err := count(bytes.NewReader(data))
		if err != nil || n != 3 {
			t.Errorf("%s: read %d events, err %v; want 3", name, n, err)
		}
	}
}

func TestReadLog_Hostile(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 100<<20) // a 100 MB line
	zeros := gz(t, make([]byte, 300<<20))      // 300 MB of zeros in ~300 KB
	lines := gz(t, bytes.Repeat([]byte("\n"), 300<<20))
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"100 MB line", "audit.log:1: line longer than 16 MiB", long},
		{"invalid JSON", "audit.log:2: invalid JSON", []byte(fmt.Sprintf(sampleEvent, 1, 1, 1) + "{\"kind\":\n")},
		{"not an event", "audit.log:1: not an audit.k8s.io Event", []byte(`{"kind":"Pod","apiVersion":"v1"}`)},
		{"gzip bomb of one line", "line longer than 16 MiB", zeros},
		{"gzip bomb of empty lines", "gzip expands more than 500 times", lines},
		{"broken gzip", "audit.log: gzip", []byte{0x1f, 0x8b, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := count(bytes.NewReader(tc.data))
			var le *LogError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &le) {
				t.Errorf("err %v, want a *LogError containing %q", err, tc.want)
			}
		})
	}
}

func TestEvent_Request(t *testing.T) {
	e := Event{Verb: "get", RequestURI: "/healthz/etcd?verbose=1"}
	if r := e.Request(); r.ResourceRequest || r.Path != "/healthz/etcd" {
		t.Errorf("non-resource request = %+v", r)
	}
	e = Event{Verb: "create", ObjectRef: &ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "shop", Name: "p"},
		User:             UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
		ImpersonatedUser: &UserInfo{Username: "system:serviceaccount:shop:sa", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated", "ops"}}}
	if u := e.Subject(); u.Name != "system:serviceaccount:shop:sa" {
		t.Errorf("subject %q, want the impersonated account", u.Name)
	}
	got := fmt.Sprint(e.Impersonation())
	want := "[{true impersonate  serviceaccounts  sa shop } {true impersonate  groups  ops  }]"
	if got != want {
		t.Errorf("impersonation checks %s, want %s", got, want)
	}
}

// BenchmarkReadLog reads a generated log of about 1 GB (b.N times) and
// reports events per second and the heap in use at the end, which stays
// that of one line whatever the size.
func BenchmarkReadLog(b *testing.B) {
	line := []byte(fmt.Sprintf(sampleEvent, 1, 1, 1))
	const size = 1 << 30
	events := size / len(line)
	us := NewUsage("bench", nil)
	var tally Tally
	for b.Loop() {
		r := &repeatReader{line: line, left: events}
		err := ReadLog("bench.log", r, DefaultLimits(), func(e *Event) error {
			tally.Observe(e, []*Usage{us})
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(tally.Events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(size)/(1<<20)/b.Elapsed().Seconds()*float64(b.N), "MiB/s")
}

// repeatReader yields line left times without holding the log.
type repeatReader struct {
	line []byte
	left int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.left == 0 {
			if n == 0 {
				return 0, io.EOF
			}
			break
		}
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off += c
		if r.off == len(r.line) {
			r.off, r.left = 0, r.left-1
		}
	}
	return n, nil
}
