"""The sequencer: takes transactions in, orders them and decides when a batch closes."""
