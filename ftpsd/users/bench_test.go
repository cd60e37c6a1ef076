package users

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkVerifyBcrypt is one password verification at bcrypt's minimum
// cost (4, what the benchmarks against other servers use) and at ftpsd's
// default cost (10).
func BenchmarkVerifyBcrypt(b *testing.B) {
	for _, cost := range []int{bcrypt.MinCost, bcryptCost} {
		b.Run(map[int]string{bcrypt.MinCost: "cost4", bcryptCost: "cost10"}[cost], func(b *testing.B) {
			enc, err := bcrypt.GenerateFromPassword([]byte("correct horse"), cost)
			if err != nil {
				b.Fatal(err)
			}
			h, err := parsePasswordHash(string(enc))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if ok, err := h.verify("correct horse"); !ok || err != nil {
					b.Fatal("no match", err)
				}
			}
		})
	}
}
