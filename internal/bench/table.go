package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// baselines names, per section, the variant each other variant is set
// beside in the table's ratio columns.
var baselines = map[string]string{"sync": "proxy", "route": "deployed"}

// WriteTable prints the report as plain-text tables: each section's
// figures, every zone figure beside its baseline and the ratio, then the
// targets, met or not (informational: a miss is not an error).
func (rep *Report) WriteTable(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "OpenZone bench — %d CPUs (%s), %d MB, %s, %s, linux %s", m.CPUs, m.CPUModel, m.MemoryMB, m.Go, m.OS, m.Kernel)
	if m.Commit != "" {
		fmt.Fprintf(w, ", commit %s", m.Commit)
	}
	if rep.Short {
		fmt.Fprint(w, " — SHORT MODE: figures are meaningless")
	}
	fmt.Fprintf(w, "\n%s, %.0f s, load average at start %s\n", rep.Started.Format("2006-01-02 15:04 UTC"), rep.Seconds, m.LoadAvg)
	for _, s := range rep.Sections {
		fmt.Fprintf(w, "\n## %s — %s\n(%s)\n\n", s.Name, s.Title, s.Settings)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		if len(s.Points) > 0 {
			base := baselines[s.Name]
			if base != "" {
				fmt.Fprintf(tw, "variant\tconc\tcalls/s\tp50 ms\tp95 ms\tp99 ms\tp50 ×%s\tcalls/s ×%s\t\n", base, base)
			} else {
				fmt.Fprintf(tw, "variant\tconc\tops\tper s\tp50 ms\tp95 ms\tp99 ms\t\n")
			}
			for i, p := range s.Points {
				if base != "" {
					b := baselineOf(s.Points, i, base)
					fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\t\n", p.Variant, p.Concurrency, p.PerSecond,
						p.P50ms, p.P95ms, p.P99ms, ratio(p.P50ms, b.P50ms), ratio(p.PerSecond, b.PerSecond))
					continue
				}
				lat := func(v float64) string {
					if p.P50ms == 0 {
						return "–"
					}
					return fmt.Sprintf("%.1f", v)
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%s\t%s\t%s\t\n", p.Variant, p.Concurrency, p.Ops, p.PerSecond, lat(p.P50ms), lat(p.P95ms), lat(p.P99ms))
			}
		}
		tw.Flush()
		if len(s.Values) > 0 {
			if len(s.Points) > 0 {
				fmt.Fprintln(w)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, v := range s.Values {
				fmt.Fprintf(tw, "  %s\t%.1f %s\n", v.Name, v.Value, v.Unit)
			}
			tw.Flush()
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "%s\n", n)
		}
	}
	if len(rep.Targets) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## targets (the issues' goals; informational)\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\tmeasured\tgoal\tstatus\n")
	met := 0
	for _, t := range rep.Targets {
		status := "NOT MET"
		if t.Met {
			status, met = "met", met+1
		}
		op := "≤"
		if t.Op == ">=" {
			op = "≥"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\n", t.Name, fmtTarget(t.Value, t.Unit), op, fmtTarget(t.Goal, t.Unit), status)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d targets met\n", met, len(rep.Targets))
}

func fmtTarget(v float64, unit string) string {
	if unit == "x" {
		return fmt.Sprintf("%.3f×", v)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// baselineOf returns the point of variant base at the same concurrency
// nearest before (or at) index i: a section may measure its baseline
// again beside a later variant (route's listener phase).
func baselineOf(ps []Point, i int, base string) Point {
	for j := i; j >= 0; j-- {
		if ps[j].Variant == base && ps[j].Concurrency == ps[i].Concurrency {
			return ps[j]
		}
	}
	return find(ps, base, ps[i].Concurrency)
}
