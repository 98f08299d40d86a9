//go:build race

package infer

// raceOn is true under the race detector, which makes the statistical
// calibrations ten times slower without checking anything more: they run
// lighter there, and in full without it (.ci/run does both).
const raceOn = true
