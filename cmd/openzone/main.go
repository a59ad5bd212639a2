// Command openzone runs and drives an OpenZone data & intelligence zone
// (数据与智能专区). See "openzone help".
package main

import (
	"os"

	"github.com/openzone/openzone/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
