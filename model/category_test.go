package model

import "testing"

func TestCanonicalCategory(t *testing.T) {
	tests := []struct {
		in, want string
		known    bool
		kind     Kind
	}{
		{"missing_dependency", "missing_dep", true, KindRecipe},
		{"missing_dep", "missing_dep", true, KindRecipe},
		{"api_error", "network_error", true, KindInfrastructure},
		{"network", "network_error", true, KindInfrastructure},
		{"validation_failed", "install_failed", true, KindRecipe},
		{"deterministic", "generation_failed", true, KindRecipe},
		{"deterministic_insufficient", "generation_failed", true, KindRecipe},
		{"timeout", "timeout", true, KindInfrastructure},
		{"binary_incompatible", "binary_incompatible", true, KindRecipe},
		{"no_bottles", "no_bottles", true, KindRecipe},
		{"cosmic_rays", "cosmic_rays", false, KindRecipe},
	}
	for _, tt := range tests {
		got, known := CanonicalCategory(tt.in)
		if got != tt.want || known != tt.known {
			t.Errorf("CanonicalCategory(%q) = %q, %v; want %q, %v", tt.in, got, known, tt.want, tt.known)
		}
		if k := CategoryKind(got); k != tt.kind {
			t.Errorf("CategoryKind(%q) = %s, want %s", got, k, tt.kind)
		}
	}
	for _, c := range Categories {
		if got, known := CanonicalCategory(c); got != c || !known {
			t.Errorf("canonical %q not kept", c)
		}
	}
}

func TestCategoryFromExitCode(t *testing.T) {
	tests := map[int]string{
		3: "recipe_not_found", 5: "network_error", 6: "install_failed", 7: "verify_failed",
		8: "missing_dep", 124: "timeout", 137: "timeout", 1: "generation_failed", 0: "generation_failed",
		-1: "generation_failed", 2: "generation_failed", 125: "generation_failed",
	}
	for code, want := range tests {
		if got := CategoryFromExitCode(code); got != want {
			t.Errorf("CategoryFromExitCode(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestResolveCategory(t *testing.T) {
	six, none := 6, (*int)(nil)
	tests := []struct {
		raw  string
		code *int
		want string
	}{
		{"deterministic", &six, "generation_failed"},
		{"cosmic_rays", &six, "cosmic_rays"},
		{"", &six, "install_failed"},
		{"", none, "generation_failed"},
	}
	for _, tt := range tests {
		if got := ResolveCategory(tt.raw, tt.code); got != tt.want {
			t.Errorf("ResolveCategory(%q, %v) = %q, want %q", tt.raw, tt.code, got, tt.want)
		}
	}
}
