package main

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// A long step reports that it is still running, with its stage, until it is stopped.
func TestHeartbeatReportsUntilStopped(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved, savedEvery := os.Stderr, heartbeatEvery
	os.Stderr, heartbeatEvery = w, 5*time.Millisecond
	stop := heartbeat("setting up")
	time.Sleep(30 * time.Millisecond)
	stop()
	os.Stderr, heartbeatEvery = saved, savedEvery
	w.Close()
	lines := 0
	for scan := bufio.NewScanner(r); scan.Scan(); lines++ {
		var event map[string]any
		if err := json.Unmarshal(scan.Bytes(), &event); err != nil || event["stage"] != "setting up" {
			t.Fatalf("not a progress line of the stage: %q", scan.Text())
		}
	}
	if lines == 0 {
		t.Fatal("no progress reported")
	}
}
