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

// MessagePruneBatch is MessagePrune with a chosen batch size.
func (db *DB) MessagePruneBatch(ctx context.Context, corpID string, before time.Time, batch int) (int64, error) {
	return db.messagePrune(ctx, corpID, before, batch)
}
