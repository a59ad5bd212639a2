package sandbox

import (
	"reflect"
	"testing"
)

func TestPathArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"argv0 is not an argument", []string{"/usr/bin/python3"}, nil},
		{"script", []string{"/bin/sh", "/srv/app/start.sh", "--name", "x"}, []string{"/srv/app/start.sh"}},
		{"env assignment", []string{"/usr/bin/env", "WWSPEC_SDK_DIR=/tmp/sdk/", "/tmp/p.py"}, []string{"/tmp/sdk", "/tmp/p.py"}},
		{"java system property", []string{"java", "-Djava.library.path=/tmp/sdk", "-jar", "/tmp/a/app.jar"}, []string{"/tmp/sdk", "/tmp/a/app.jar"}},
		{"long option", []string{"prog", "--config=/etc/prog.yaml", "--addr=:8080"}, []string{"/etc/prog.yaml"}},
		{"list", []string{"java", "-cp", "/tmp/a.jar:lib/b.jar:/tmp/c.jar", "Main"}, []string{"/tmp/a.jar", "/tmp/c.jar"}},
		{"relative", []string{"prog", "data/x", "--dir=rel"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pathArgs(tt.args); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pathArgs(%q) = %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}
