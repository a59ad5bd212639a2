package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeCgroups lays out a cgroup tree under a temporary root: dirs to make,
// files to write, and the zone's own /proc/self/cgroup.
func fakeCgroups(t *testing.T, self string, dirs []string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for f, v := range files {
		if err := os.WriteFile(filepath.Join(root, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(root, "self-cgroup")
	if err := os.WriteFile(p, []byte(self), 0o644); err != nil {
		t.Fatal(err)
	}
	old := procSelfCgroup
	procSelfCgroup = p
	t.Cleanup(func() { procSelfCgroup = old })
	return root
}

func TestDetectCgroups(t *testing.T) {
	tests := []struct {
		name    string
		self    string
		dirs    []string
		files   map[string]string
		want    string   // describe()
		parents []string // relative to root
	}{
		{
			name:  "V1", // this project's machines: v1 controllers, a near-empty v2 mount
			self:  "4:memory:/sess\n1:cpu:/\n8:pids:/\n0::/\n",
			dirs:  []string{"memory/sess", "cpu", "pids", "unified"},
			files: map[string]string{"unified/cgroup.controllers": "hugetlb\n"},
			want:  "cgroup v1: memory, cpu, pids", parents: []string{"memory/sess/openzone-z", "cpu/openzone-z", "pids/openzone-z"},
		},
		{
			name: "V2",
			self: "0::/user.slice/zone\n",
			dirs: []string{"user.slice/zone"},
			files: map[string]string{"cgroup.controllers": "cpuset cpu io memory pids\n",
				"user.slice/zone/cgroup.subtree_control": ""},
			want: "cgroup v2: memory, cpu, pids", parents: []string{"user.slice/zone/openzone-z"},
		},
		{
			name:  "None",
			self:  "0::/\n",
			files: map[string]string{"cgroup.controllers": "pids\n"},
			want:  "not enforced: cgroup v1: no memory controller mounted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeCgroups(t, tt.self, tt.dirs, tt.files)
			if tt.name == "V2" {
				// The fake kernel gives the new folder its control file.
				os.MkdirAll(filepath.Join(root, "user.slice/zone/openzone-z"), 0o755)
				os.WriteFile(filepath.Join(root, "user.slice/zone/openzone-z/cgroup.subtree_control"), nil, 0o644)
			}
			cg := detectCgroups(root, "z")
			if got, _ := cg.describe(); got != tt.want {
				t.Errorf("describe = %q, want %q", got, tt.want)
			}
			for _, p := range tt.parents {
				if fi, err := os.Stat(filepath.Join(root, p)); err != nil || !fi.IsDir() {
					t.Errorf("no zone folder %s: %v", p, err)
				}
			}
			if tt.name == "V2" {
				b, _ := os.ReadFile(filepath.Join(root, "user.slice/zone/cgroup.subtree_control"))
				if strings.TrimSpace(string(b)) != "+memory +cpu +pids" {
					t.Errorf("subtree_control = %q", b)
				}
			}
		})
	}
}

func TestLimitFiles(t *testing.T) {
	tests := []struct {
		name    string
		version int
		limits  Limits
		want    [][3]string
	}{
		{"V1", 1, Limits{MemoryMB: 64, CPUs: 0.5}, [][3]string{{"memory", "memory.limit_in_bytes", "67108864"}, {"memory", "memory.memsw.limit_in_bytes", "67108864"},
			{"pids", "pids.max", "4096"}, {"cpu", "cpu.cfs_period_us", "100000"}, {"cpu", "cpu.cfs_quota_us", "50000"}, {"cpu", "cpu.shares", "512"}}},
		{"V2", 2, Limits{MemoryMB: 64, CPUs: 0.5}, [][3]string{{"", "memory.max", "67108864"}, {"", "memory.swap.max", "0"}, {"", "pids.max", "4096"},
			{"", "cpu.max", "50000 100000"}, {"", "cpu.weight", "50"}}},
		{"NoCPULimit", 1, Limits{MemoryMB: 64}, [][3]string{{"memory", "memory.limit_in_bytes", "67108864"}, {"memory", "memory.memsw.limit_in_bytes", "67108864"},
			{"pids", "pids.max", "4096"}}},
	}
	for _, tt := range tests {
		if got := limitFiles(tt.version, tt.limits); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
