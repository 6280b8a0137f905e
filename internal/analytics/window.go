package analytics

import (
	"time"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// MaxWindow is the longest window a usage question may span.
const MaxWindow = 400 * 24 * time.Hour

// defaultWindow is the span asked about when from is not given.
const defaultWindow = 30 * 24 * time.Hour

// Window is a half-open UTC time window [From, To).
type Window struct {
	From, To time.Time
}

// NewWindow checks a window from the query (to defaults to now, from to 30 days before to):
// to must be after from and the window at most 400 days, else a 400 pointing at the parameter.
func NewWindow(from, to *time.Time, now time.Time) (Window, error) {
	w := Window{To: now.UTC()}
	if to != nil {
		w.To = to.UTC()
	}
	w.From = w.To.Add(-defaultWindow)
	if from != nil {
		w.From = from.UTC()
	}
	switch {
	case !w.To.After(w.From):
		return w, invalidParam("to", "must be after from")
	case w.To.Sub(w.From) > MaxWindow:
		return w, invalidParam("from", "the window [from, to) may span at most 400 days")
	}
	return w, nil
}

func invalidParam(name, detail string) error {
	return apperr.New(apperr.Invalid, "invalid_parameter", name+": "+detail).
		WithFields(apperr.FieldError{Location: apperr.InQuery, Pointer: name, Detail: detail})
}

// split divides w into whole days answered by the rollups, [rollFrom, rollTo), and the edges
// before and after them answered by raw events. Days from rolledUntil on are not rolled up yet.
func (w Window) split(rolledUntil time.Time) (rollFrom, rollTo time.Time) {
	rollFrom = Day(w.From)
	if rollFrom.Before(w.From) {
		rollFrom = rollFrom.AddDate(0, 0, 1)
	}
	rollTo = Day(w.To)
	if rolledUntil.Before(rollTo) {
		rollTo = Day(rolledUntil)
	}
	if !rollTo.After(rollFrom) {
		return w.To, w.To // nothing from the rollups: all of w is raw
	}
	return rollFrom, rollTo
}

// months divides the rolled-up days [rollFrom, rollTo) further: whole months [monthFrom,
// monthTo) answered by the monthly rollup, the days around them by the daily one. Without a
// whole month both are rollTo, so the daily rollup answers all of [rollFrom, rollTo).
func months(rollFrom, rollTo time.Time) (monthFrom, monthTo time.Time) {
	monthFrom = MonthStart(rollFrom)
	if monthFrom.Before(rollFrom) {
		monthFrom = monthFrom.AddDate(0, 1, 0)
	}
	monthTo = MonthStart(rollTo)
	if !monthTo.After(monthFrom) {
		return rollTo, rollTo
	}
	return monthFrom, monthTo
}
