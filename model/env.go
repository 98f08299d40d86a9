package model

import "strings"

// Level is how fine an environment ID is.
type Level int

// Levels from finest to coarsest. LevelUnknown marks an ID that fits no shape.
const (
	LevelFamily Level = iota
	LevelEnv
	LevelJob
	LevelOS
	LevelUnknown
)

var levelNames = [...]string{"family", "env", "job", "os", "unknown"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "unknown"
	}
	return levelNames[l]
}

// ParseLevel parses a roll-up level name.
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames[:LevelUnknown] {
		if n == s {
			return Level(i), true
		}
	}
	return LevelUnknown, false
}

// Env is a parsed environment (platform) ID such as linux-debian-glibc-x86_64.
type Env struct {
	ID     string // canonical ID (aliases resolved), or the raw ID when unparsed
	OS     string // linux, darwin
	Family string // debian, rhel, arch, suse, alpine; "" when not given
	Libc   string // glibc, musl; "" when not given
	Arch   string // x86_64, arm64; "" when not given
	Level  Level  // the finest level the ID carries
}

var familyAlias = map[string]string{
	"debian": "debian", "rhel": "rhel", "fedora": "rhel", "arch": "arch",
	"suse": "suse", "opensuse": "suse", "alpine": "alpine",
}

var archAlias = map[string]string{
	"x86_64": "x86_64", "amd64": "x86_64", "arm64": "arm64", "aarch64": "arm64",
}

// ParseEnv parses an environment ID. An ID that fits none of the four shapes
// of FORMATS.md section 1 comes back with Level LevelUnknown and ID unchanged.
func ParseEnv(id string) Env {
	unknown := Env{ID: id, Level: LevelUnknown}
	parts := strings.Split(id, "-")
	osName := parts[0]
	if osName != "linux" && osName != "darwin" {
		return unknown
	}
	e := Env{OS: osName}
	switch len(parts) {
	case 1:
		e.Level = LevelOS
	case 2:
		a, ok := archAlias[parts[1]]
		if !ok {
			return unknown
		}
		e.Arch, e.Level = a, LevelJob
	case 3:
		a, ok := archAlias[parts[2]]
		if !ok || osName != "linux" || !isLibc(parts[1]) {
			return unknown
		}
		e.Libc, e.Arch, e.Level = parts[1], a, LevelEnv
	case 4:
		a, ok := archAlias[parts[3]]
		f, fok := familyAlias[parts[1]]
		if !ok || !fok || osName != "linux" || !isLibc(parts[2]) {
			return unknown
		}
		e.Family, e.Libc, e.Arch, e.Level = f, parts[2], a, LevelFamily
	default:
		return unknown
	}
	if osName == "darwin" && e.Level == LevelJob {
		// Darwin has no libc or family: its job ID is also its finest.
		e.Level = LevelFamily
	}
	e.ID = e.build(e.Level)
	return e
}

func isLibc(s string) bool { return s == "glibc" || s == "musl" }

// IsDarwin reports whether the environment is macOS.
func (e Env) IsDarwin() bool { return e.OS == "darwin" }

// Known reports whether the ID parsed.
func (e Env) Known() bool { return e.Level != LevelUnknown }

// At returns the ID rolled up to level l, and the level it actually has:
// an ID coarser than l stays at its own level, never split. Unknown IDs are
// returned verbatim.
func (e Env) At(l Level) (string, Level) {
	if e.Level == LevelUnknown {
		return e.ID, LevelUnknown
	}
	if e.IsDarwin() && e.Arch != "" {
		// darwin-arm64 is at every level from family to job.
		if l == LevelOS {
			return "darwin", LevelOS
		}
		return e.ID, l
	}
	if l < e.Level {
		return e.ID, e.Level
	}
	return e.build(l), l
}

func (e Env) build(l Level) string {
	if e.IsDarwin() {
		if l == LevelOS || e.Arch == "" {
			return "darwin"
		}
		return "darwin-" + e.Arch
	}
	switch l {
	case LevelFamily:
		return "linux-" + e.Family + "-" + e.Libc + "-" + e.Arch
	case LevelEnv:
		return "linux-" + e.Libc + "-" + e.Arch
	case LevelJob:
		return "linux-" + e.Arch
	default:
		return "linux"
	}
}

// ValidPlatformID reports whether id uses only [a-z0-9_.-] and is non-empty.
func ValidPlatformID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ValidEcosystem reports whether s is a plain ecosystem name: lower-case
// letters, digits, '.', '_' and '-', starting and ending with a letter or
// digit, with no "..". "mixed" and "unknown" are reserved.
func ValidEcosystem(s string) bool {
	if s == "" || len(s) > 64 || s == Mixed || s == Unknown || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && !((c == '.' || c == '_' || c == '-') && i > 0 && i < len(s)-1) {
			return false
		}
	}
	return true
}

// Reserved ecosystem names.
const (
	Mixed   = "mixed"   // a batch that spans several ecosystems
	Unknown = "unknown" // a record that names no ecosystem
)
