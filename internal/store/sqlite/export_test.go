package sqlite

import (
	"context"
	"time"
)

// TrafficPruneBatch is TrafficPrune with a chosen batch size, so tests can
// cross batch boundaries with few records.
func (db *DB) TrafficPruneBatch(ctx context.Context, before time.Time, batch int) (int64, error) {
	return db.trafficPrune(ctx, before, batch)
}
