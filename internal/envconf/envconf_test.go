package envconf

import (
	"testing"
	"time"
)

func TestSeconds(t *testing.T) {
	const def = 7 * time.Second
	tests := []struct {
		value        string
		positive     time.Duration // Seconds
		allowingZero time.Duration // SecondsAllowingZero
	}{
		{"", def, def},
		{"5", 5 * time.Second, 5 * time.Second},
		{"1.5", 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"0.001", time.Millisecond, time.Millisecond},
		{"+3", 3 * time.Second, 3 * time.Second},
		{"1e2", 100 * time.Second, 100 * time.Second},
		{"0", def, 0},
		{"0.0", def, 0},
		{"-1", def, def},
		{"-0.5", def, def},
		{"abc", def, def},
		{" 5", def, def},
		{"5 ", def, def},
		{"60s", def, def},
		{"NaN", def, def},
		{"inf", def, def},
		{"1e400", def, def},
		{"1e12", def, def}, // beyond time.Duration's 292 years
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			t.Setenv("ENVCONF_TEST", tc.value)
			if got := Seconds("ENVCONF_TEST", def); got != tc.positive {
				t.Errorf("Seconds(%q) = %v, want %v", tc.value, got, tc.positive)
			}
			if got := SecondsAllowingZero("ENVCONF_TEST", def); got != tc.allowingZero {
				t.Errorf("SecondsAllowingZero(%q) = %v, want %v", tc.value, got, tc.allowingZero)
			}
		})
	}
}

func TestSecondsUnset(t *testing.T) {
	if got := Seconds("ENVCONF_TEST_SURELY_UNSET", time.Minute); got != time.Minute {
		t.Errorf("unset: %v", got)
	}
	if got := SecondsAllowingZero("ENVCONF_TEST_SURELY_UNSET", time.Minute); got != time.Minute {
		t.Errorf("unset: %v", got)
	}
}
