// Command benchhash (bench/peers) writes the bcrypt hash of the peers
// benchmark's test password for ftpsd's users file, at a chosen cost, and
// measures what one verification at that cost takes on this machine.
//
// `ftpsd hash-password` always uses cost 10 (~50 ms per login here); the
// benchmark wants bcrypt's minimum cost 4, the same cost class as the SHA-512
// crypt (~1.3 ms) that vsftpd, ProFTPD and Pure-FTPd check per login.
//
//	benchhash -cost 4 <passfile              prints the hash
//	benchhash -cost 4 -verify-runs 50 <passfile   prints ms per verification
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	cost := flag.Int("cost", bcrypt.MinCost, "bcrypt cost")
	runs := flag.Int("verify-runs", 0, "when > 0: time this many verifications and print ms per verification instead of the hash")
	flag.Parse()
	if err := run(*cost, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "benchhash:", err)
		os.Exit(1)
	}
}

func run(cost, runs int) error {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("reading the password on stdin: %w", err)
	}
	pw := []byte(strings.TrimRight(line, "\r\n"))
	if len(pw) == 0 {
		return errors.New("empty password")
	}
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		return err
	}
	if runs <= 0 {
		fmt.Println(string(h))
		return nil
	}
	runs = min(runs, 1000) // bounded
	start := time.Now()
	for range runs {
		if err := bcrypt.CompareHashAndPassword(h, pw); err != nil {
			return err
		}
	}
	fmt.Printf("%.2f\n", float64(time.Since(start).Microseconds())/1000/float64(runs))
	return nil
}
