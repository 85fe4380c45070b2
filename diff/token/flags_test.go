package token

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []Flag
	}{
		{"equals", []string{"--a=b"}, []Flag{{Name: "a", Value: "b", HasValue: true}}},
		{"separate value", []string{"--a", "b", "--c=d"}, []Flag{
			{Name: "a", Value: "b", HasValue: true}, {Name: "c", Value: "d", HasValue: true, Index: 2}}},
		{"value that looks like a flag is not taken", []string{"--a", "--b"}, []Flag{
			{Name: "a"}, {Name: "b", Index: 1}}},
		{"boolean flag keeps its next argument", []string{"--anonymous-auth", "false"}, []Flag{
			{Name: "anonymous-auth", Value: "true"}}},
		{"boolean with value", []string{"--anonymous-auth=false"}, []Flag{
			{Name: "anonymous-auth", Value: "false", HasValue: true}}},
		{"single dash and underscores", []string{"-service_account_issuer=x"}, []Flag{
			{Name: "service-account-issuer", Value: "x", HasValue: true}}},
		{"empty value", []string{"--oidc-username-prefix="}, []Flag{
			{Name: "oidc-username-prefix", HasValue: true}}},
		{"value with equals", []string{"--oidc-required-claim=a=b"}, []Flag{
			{Name: "oidc-required-claim", Value: "a=b", HasValue: true}}},
		{"positional and junk skipped", []string{"kube-apiserver", "-", "---x", "--=v", "", "--ok"}, []Flag{
			{Name: "ok", Index: 5}}},
		{"double dash ends flags", []string{"--a=1", "--", "--b=2"}, []Flag{
			{Name: "a", Value: "1", HasValue: true}}},
		{"repeated", []string{"--i=x", "--i", "y"}, []Flag{
			{Name: "i", Value: "x", HasValue: true}, {Name: "i", Value: "y", HasValue: true, Index: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseFlags(tt.args)); diff != "" {
				t.Errorf("ParseFlags(%q) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func FuzzParseFlags(f *testing.F) {
	f.Add("kube-apiserver\x00--anonymous-auth=false\x00--authorization-mode\x00Node,RBAC")
	f.Add("--a\x00--\x00--b=c\x00-x_y\x00=\x00--=")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		last := -1
		for _, fl := range ParseFlags(args) {
			if fl.Index <= last || fl.Index >= len(args) {
				t.Fatalf("index %d out of order or range (last %d, %d args)", fl.Index, last, len(args))
			}
			last = fl.Index
			if fl.Name == "" || strings.HasPrefix(fl.Name, "-") || strings.Contains(fl.Name, "_") {
				t.Fatalf("bad name %q from %q", fl.Name, args[fl.Index])
			}
			if !strings.Contains(args[fl.Index], "=") && fl.HasValue && fl.Index+1 < len(args) && fl.Value != args[fl.Index+1] {
				t.Fatalf("separate value %q is not the next argument %q", fl.Value, args[fl.Index+1])
			}
		}
	})
}
