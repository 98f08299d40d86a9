//go:build !race

package infer

const raceOn = false
