package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/inquest/inquest/agents/detection/nab"
)

func evalCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "eval-nab",
		Short: "Replay the Numenta Anomaly Benchmark through the detectors and sanity baselines; print the NAB score, point-adjusted and event-wise F1, delay and alert rate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := nab.Load(dir)
			if err != nil {
				return fmt.Errorf("%w (get the corpus from github.com/numenta/NAB: data/ and labels/)", err)
			}
			_, err = nab.Compare(cmd.OutOrStdout(), c)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "../shared/data/nab", "NAB folder holding data/ and labels/")
	return cmd
}
