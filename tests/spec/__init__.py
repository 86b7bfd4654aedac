"""Tests of the state-transition spec `zkpipe.spec`."""
