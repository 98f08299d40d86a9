package model

import "testing"

func TestParseEnv(t *testing.T) {
	tests := []struct {
		id                     string
		want                   string
		os, family, libc, arch string
		level                  Level
	}{
		{"linux-debian-glibc-x86_64", "linux-debian-glibc-x86_64", "linux", "debian", "glibc", "x86_64", LevelFamily},
		{"linux-alpine-musl-arm64", "linux-alpine-musl-arm64", "linux", "alpine", "musl", "arm64", LevelFamily},
		{"linux-fedora-glibc-aarch64", "linux-rhel-glibc-arm64", "linux", "rhel", "glibc", "arm64", LevelFamily},
		{"linux-opensuse-glibc-amd64", "linux-suse-glibc-x86_64", "linux", "suse", "glibc", "x86_64", LevelFamily},
		{"linux-glibc-x86_64", "linux-glibc-x86_64", "linux", "", "glibc", "x86_64", LevelEnv},
		{"linux-musl-arm64", "linux-musl-arm64", "linux", "", "musl", "arm64", LevelEnv},
		{"linux-x86_64", "linux-x86_64", "linux", "", "", "x86_64", LevelJob},
		{"linux-amd64", "linux-x86_64", "linux", "", "", "x86_64", LevelJob},
		{"darwin-arm64", "darwin-arm64", "darwin", "", "", "arm64", LevelFamily},
		{"darwin-aarch64", "darwin-arm64", "darwin", "", "", "arm64", LevelFamily},
		{"linux", "linux", "linux", "", "", "", LevelOS},
		{"darwin", "darwin", "darwin", "", "", "", LevelOS},
	}
	for _, tt := range tests {
		e := ParseEnv(tt.id)
		if e.ID != tt.want || e.OS != tt.os || e.Family != tt.family || e.Libc != tt.libc || e.Arch != tt.arch || e.Level != tt.level {
			t.Errorf("ParseEnv(%q) = %+v, want id %s os %s family %s libc %s arch %s level %v", tt.id, e, tt.want, tt.os, tt.family, tt.libc, tt.arch, tt.level)
		}
	}
}

func TestParseEnvUnknown(t *testing.T) {
	for _, id := range []string{"", "windows-x86_64", "linux-debian-x86_64", "linux-glibc", "linux-foo-glibc-x86_64",
		"linux-debian-glibc-sparc", "darwin-glibc-arm64", "linux-debian-glibc-x86_64-extra", "linux-x86_64-", "LINUX-x86_64"} {
		e := ParseEnv(id)
		if e.Known() || e.ID != id || e.Level != LevelUnknown {
			t.Errorf("ParseEnv(%q) = %+v, want unknown kept verbatim", id, e)
		}
		if got, l := e.At(LevelJob); got != id || l != LevelUnknown {
			t.Errorf("%q.At(job) = %q, %v; want verbatim", id, got, l)
		}
	}
}

func TestRollUp(t *testing.T) {
	tests := []struct {
		id      string
		level   Level
		want    string
		atLevel Level
	}{
		{"linux-debian-glibc-x86_64", LevelFamily, "linux-debian-glibc-x86_64", LevelFamily},
		{"linux-debian-glibc-x86_64", LevelEnv, "linux-glibc-x86_64", LevelEnv},
		{"linux-debian-glibc-x86_64", LevelJob, "linux-x86_64", LevelJob},
		{"linux-debian-glibc-x86_64", LevelOS, "linux", LevelOS},
		{"linux-alpine-musl-arm64", LevelEnv, "linux-musl-arm64", LevelEnv},
		{"linux-alpine-musl-arm64", LevelJob, "linux-arm64", LevelJob},
		// Coarser records stay at their own level, never split.
		{"linux-glibc-x86_64", LevelFamily, "linux-glibc-x86_64", LevelEnv},
		{"linux-x86_64", LevelFamily, "linux-x86_64", LevelJob},
		{"linux-x86_64", LevelEnv, "linux-x86_64", LevelJob},
		{"linux", LevelJob, "linux", LevelOS},
		{"darwin", LevelFamily, "darwin", LevelOS},
		// darwin-arm64 is at every level from family to job.
		{"darwin-arm64", LevelFamily, "darwin-arm64", LevelFamily},
		{"darwin-arm64", LevelEnv, "darwin-arm64", LevelEnv},
		{"darwin-arm64", LevelJob, "darwin-arm64", LevelJob},
		{"darwin-x86_64", LevelOS, "darwin", LevelOS},
	}
	for _, tt := range tests {
		got, l := ParseEnv(tt.id).At(tt.level)
		if got != tt.want || l != tt.atLevel {
			t.Errorf("%s at %v = %s (%v), want %s (%v)", tt.id, tt.level, got, l, tt.want, tt.atLevel)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"family", "env", "job", "os"} {
		l, ok := ParseLevel(s)
		if !ok || l.String() != s {
			t.Errorf("ParseLevel(%q) = %v, %v", s, l, ok)
		}
	}
	if _, ok := ParseLevel("unknown"); ok {
		t.Error("ParseLevel(unknown) accepted")
	}
}

func TestValidNames(t *testing.T) {
	for _, s := range []string{"cargo", "crates.io", "npm", "my-eco", "a_b", "x1"} {
		if !ValidEcosystem(s) {
			t.Errorf("ValidEcosystem(%q) = false", s)
		}
	}
	for _, s := range []string{"", "../x", "..", "a/b", "Cargo", ".hidden", "x.", "a..b", "mixed", "unknown", "a b", "é"} {
		if ValidEcosystem(s) {
			t.Errorf("ValidEcosystem(%q) = true", s)
		}
	}
	for _, s := range []string{"linux-x86_64", "darwin-arm64", "a.b_c-1"} {
		if !ValidPlatformID(s) {
			t.Errorf("ValidPlatformID(%q) = false", s)
		}
	}
	for _, s := range []string{"", "Linux", "linux x86", "linux/x86", "<script>", "linux\n"} {
		if ValidPlatformID(s) {
			t.Errorf("ValidPlatformID(%q) = true", s)
		}
	}
}
