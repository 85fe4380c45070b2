package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/rbacguard/rbacguard/diff/rbac"
)

// Event is the part of an audit.k8s.io/v1 Event that says who asked what,
// as the log backend writes it (one JSON object a line). Request and
// response bodies are not read.
type Event struct {
	Kind             string            `json:"kind"`
	APIVersion       string            `json:"apiVersion"`
	AuditID          string            `json:"auditID"`
	Stage            Stage             `json:"stage"`
	RequestURI       string            `json:"requestURI"`
	Verb             string            `json:"verb"`
	User             UserInfo          `json:"user"`
	ImpersonatedUser *UserInfo         `json:"impersonatedUser,omitempty"`
	ObjectRef        *ObjectReference  `json:"objectRef,omitempty"`
	ResponseStatus   *Status           `json:"responseStatus,omitempty"`
	StageTimestamp   time.Time         `json:"stageTimestamp"`
	Annotations      map[string]string `json:"annotations,omitempty"`
}

// UserInfo is the authenticated identity of a request.
type UserInfo struct {
	Username string              `json:"username"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// ObjectReference is the object a resource request is about.
type ObjectReference struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// Status is the response code of a request.
type Status struct {
	Code int32 `json:"code,omitempty"`
}

// Final reports whether the event closes its request: ResponseComplete,
// or Panic. A request is counted at its final event only, so that its
// RequestReceived (and a watch's ResponseStarted) events do not count it
// twice.
func (e *Event) Final() bool { return e.Stage == StageResponseComplete || e.Stage == StagePanic }

// Denied reports whether the authorizer refused the request: its decision
// annotation, or a 403 when the policy level dropped annotations.
func (e *Event) Denied() bool {
	if d, ok := e.Annotations["authorization.k8s.io/decision"]; ok {
		return d == "forbid"
	}
	return e.Final() && e.ResponseStatus != nil && e.ResponseStatus.Code == 403
}

// Subject is the user the authorizer asked about: the impersonated user
// when the request impersonated one (the impersonation filter runs before
// authorization), else the authenticated user.
func (e *Event) Subject() rbac.User {
	u := e.User
	if e.ImpersonatedUser != nil {
		u = *e.ImpersonatedUser
	}
	return rbac.User{Name: u.Username, Groups: u.Groups}
}

// Request is the request the authorizer saw, as the API server's
// request-info resolver made it: a resource request when the event has an
// objectRef, else the URL's path.
func (e *Event) Request() rbac.Request {
	if o := e.ObjectRef; o != nil {
		return rbac.Request{ResourceRequest: true, Verb: e.Verb, APIGroup: o.APIGroup, Resource: o.Resource,
			Subresource: o.Subresource, Namespace: o.Namespace, Name: o.Name}
	}
	p := e.RequestURI
	if u, err := url.ParseRequestURI(p); err == nil {
		p = u.Path
	} else if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return rbac.Request{Verb: e.Verb, Path: p}
}

// Impersonation lists the requests the impersonation filter authorized
// for the authenticated user before the request ran: impersonate on the
// user (or service account) and on each group it asked for. Groups the
// API server adds itself (system:authenticated; a service account's
// groups when it names none) were not asked for and are left out.
func (e *Event) Impersonation() []rbac.Request {
	iu := e.ImpersonatedUser
	if iu == nil {
		return nil
	}
	imp := func(res, ns, name string) rbac.Request {
		return rbac.Request{ResourceRequest: true, Verb: "impersonate", Resource: res, Namespace: ns, Name: name}
	}
	var out []rbac.Request
	skip := map[string]bool{"system:authenticated": true}
	if rest, ok := strings.CutPrefix(iu.Username, "system:serviceaccount:"); ok {
		ns, name, _ := strings.Cut(rest, ":")
		out = append(out, imp("serviceaccounts", ns, name))
		skip["system:serviceaccounts"], skip["system:serviceaccounts:"+ns] = true, true
	} else if iu.Username != "" {
		out = append(out, imp("users", "", iu.Username))
	}
	for _, g := range iu.Groups {
		if !skip[g] {
			out = append(out, imp("groups", "", g))
		}
	}
	return out
}

// Limits bound what reading a log may cost.
type Limits struct {
	// MaxLine is the longest event accepted, in bytes.
	MaxLine int
	// MaxRatio is how many times its compressed size a gzip log may
	// expand to (past the first 64 MiB): more is a bomb, not a log.
	MaxRatio int64
}

// DefaultLimits: events of up to 16 MiB (a RequestResponse event of a
// large object), gzip expanding up to 500 times (deflate cannot pass
// about 1,030; a generated 1 GiB audit log compresses 55 times, a bomb of one byte
// repeated reaches the maximum).
func DefaultLimits() Limits { return Limits{MaxLine: 16 << 20, MaxRatio: 500} }

// LogError is a log that cannot be read, at a line.
type LogError struct {
	File string
	Line int
	Err  error
}

func (e *LogError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LogError) Unwrap() error { return e.Err }

// ErrNotEvent is an event line that is not an audit.k8s.io Event.
var ErrNotEvent = errors.New("not an audit.k8s.io Event")

// ReadLog reads the events of one log, plain or gzip (found by its magic
// bytes), and calls fn with each. Memory is bounded by one line. A line
// that is not JSON, not an Event, or too long, and a gzip stream that
// expands too far, stop the reading with a *LogError naming the line.
func ReadLog(name string, r io.Reader, lim Limits, fn func(*Event) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var in io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		cr := &countingReader{r: br}
		zr, err := gzip.NewReader(cr)
		if err != nil {
			return &LogError{File: name, Err: fmt.Errorf("gzip: %w", err)}
		}
		in = &ratioReader{r: zr, compressed: &cr.n, max: lim.MaxRatio}
	}
	lr := bufio.NewReaderSize(in, 1<<20)
	var line []byte
	for n := 1; ; n++ {
		line = line[:0]
		for {
			chunk, err := lr.ReadSlice('\n')
			line = append(line, chunk...)
			if len(line) > lim.MaxLine {
				return &LogError{File: name, Line: n, Err: fmt.Errorf("line longer than %d MiB: not an audit log of JSON lines (or raise the limit)", lim.MaxLine>>20)}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				if len(bytes.TrimSpace(line)) == 0 {
					return nil
				}
				break
			}
			if err != nil {
				return &LogError{File: name, Line: n, Err: err}
			}
			break
		}
		line := bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			return &LogError{File: name, Line: n, Err: fmt.Errorf("invalid JSON (%v): an audit log is one JSON Event a line, as --audit-log-format=json writes it", err)}
		}
		if e.Kind != "Event" || !strings.HasPrefix(e.APIVersion, "audit.k8s.io/") {
			return &LogError{File: name, Line: n, Err: fmt.Errorf("%w (kind %q, apiVersion %q)", ErrNotEvent, e.Kind, e.APIVersion)}
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ratioReader stops a gzip stream that expands beyond max times what was
// read of it.
type ratioReader struct {
	r          io.Reader
	compressed *int64
	out        int64
	max        int64
}

func (z *ratioReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	z.out += int64(n)
	if z.out > 64<<20 && z.out > z.max*(*z.compressed) {
		return n, fmt.Errorf("gzip expands more than %d times its size: a gzip bomb, not an audit log", z.max)
	}
	return n, err
}
