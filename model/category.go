package model

// Kind says whether a failure speaks about the recipe or the infrastructure.
type Kind string

// Failure kinds.
const (
	KindRecipe         Kind = "recipe"
	KindInfrastructure Kind = "infrastructure"
)

// Canonical failure categories (FORMATS.md section 5).
const (
	CatGenerationFailed   = "generation_failed"
	CatInstallFailed      = "install_failed"
	CatVerifyFailed       = "verify_failed"
	CatMissingDep         = "missing_dep"
	CatRecipeNotFound     = "recipe_not_found"
	CatBinaryIncompatible = "binary_incompatible"
	CatNoPlatformAssets   = "no_platform_assets"
	CatBinaryNotFound     = "binary_not_found"
	CatComplexArchive     = "complex_archive"
	CatNoBottles          = "no_bottles"
	CatBuildFromSource    = "build_from_source"
	CatNetworkError       = "network_error"
	CatTimeout            = "timeout"
)

// Categories lists the canonical categories in the order of FORMATS.md.
var Categories = []string{
	CatGenerationFailed, CatInstallFailed, CatVerifyFailed, CatMissingDep,
	CatRecipeNotFound, CatBinaryIncompatible, CatNoPlatformAssets,
	CatBinaryNotFound, CatComplexArchive, CatNoBottles, CatBuildFromSource,
	CatNetworkError, CatTimeout,
}

var categoryAlias = map[string]string{
	"missing_dependency":         CatMissingDep,
	"api_error":                  CatNetworkError,
	"network":                    CatNetworkError,
	"validation_failed":          CatInstallFailed,
	"deterministic":              CatGenerationFailed,
	"deterministic_insufficient": CatGenerationFailed,
}

var canonical = func() map[string]bool {
	m := make(map[string]bool, len(Categories))
	for _, c := range Categories {
		m[c] = true
	}
	return m
}()

// CanonicalCategory resolves aliases. known is false for a category that is
// neither canonical nor an alias; it is then returned unchanged.
func CanonicalCategory(c string) (name string, known bool) {
	if canonical[c] {
		return c, true
	}
	if a, ok := categoryAlias[c]; ok {
		return a, true
	}
	return c, false
}

// CategoryKind returns the kind of a canonical category. An unknown category
// counts against the recipe: only the known infrastructure categories are
// excused.
func CategoryKind(c string) Kind {
	if c == CatNetworkError || c == CatTimeout {
		return KindInfrastructure
	}
	return KindRecipe
}

// CategoryFromExitCode derives a category from an exit code, for records
// that carry none.
func CategoryFromExitCode(code int) string {
	switch code {
	case 3:
		return CatRecipeNotFound
	case 5:
		return CatNetworkError
	case 6:
		return CatInstallFailed
	case 7:
		return CatVerifyFailed
	case 8:
		return CatMissingDep
	case 124, 137:
		return CatTimeout
	default:
		return CatGenerationFailed
	}
}

// ResolveCategory returns a failure's canonical category: the one it names
// (aliases resolved, unknown names kept), else the one its exit code implies
// (no exit code counts as generation_failed).
func ResolveCategory(raw string, exitCode *int) string {
	if raw != "" {
		c, _ := CanonicalCategory(raw)
		return c
	}
	code := -1
	if exitCode != nil {
		code = *exitCode
	}
	return CategoryFromExitCode(code)
}
