// Command traefik-harness runs Traefik's own code (v3.6, as a Go library) on the Traefik objects the
// AuditFlow program generates, with small real backends on loopback, and prints what it measured
// as JSON. Subcommands:
//
//	routes -plan DIR [-seconds S]   routing, redirect, headers, WebSocket, body limit, rate limits
//	acme -plan DIR -pebble BIN -challtestsrv BIN -work DIR
//	                                certificate issuance and renewal against Pebble (see acme.go)
//	gen-ca -out DIR                 a CA and a loopback server certificate for Pebble's HTTPS
//
// It never listens or connects outside 127.0.0.1.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/rs/zerolog"
)

func main() {
	zerolog.SetGlobalLevel(zerolog.ErrorLevel)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: traefik-harness routes|acme|gen-ca [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	planDir := fs.String("plan", "", "directory of an offline plan (npm run plan -- --out DIR)")
	seconds := fs.Float64("seconds", 3, "seconds of load per rate-limit measurement")
	pebble := fs.String("pebble", "", "pebble binary")
	challtestsrv := fs.String("challtestsrv", "", "pebble-challtestsrv binary")
	work := fs.String("work", "", "working directory (acme, gen-ca)")
	_ = fs.Parse(os.Args[2:])

	var report any
	var err error
	switch os.Args[1] {
	case "routes":
		report, err = runRoutes(*planDir, *seconds)
	case "acme":
		report, err = runACME(*planDir, *pebble, *challtestsrv, *work)
	case "gen-ca":
		report, err = genCA(*work)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "traefik-harness:", err)
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(report, "", "  ")
	fmt.Println(string(out))
}
