//go:build !race

package analyze

const raceOn = false
