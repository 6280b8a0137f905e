// Package push sends push notifications (APNs) to the devices users register, when something
// they wait for happens while the app sleeps: a chat generation completes or fails while the user
// has no live event connection.
package push

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Device is a registered device.
type Device struct {
	ID          uuid.UUID
	Platform    string
	Token       string
	Environment string
	BundleID    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Registration is what a client registers.
type Registration struct {
	Platform, Token, Environment, BundleID string
}

// Devices keeps the users' devices.
type Devices struct {
	store   *store.Store
	cursors *page.Cursors
	now     func() time.Time
	// topic is the one bundle id notifications go to ("" while push is off: any bundle is kept).
	topic string
}

// NewDevices returns the device registry; topic is CCB_APNS_TOPIC.
func NewDevices(st *store.Store, cursors *page.Cursors, now func() time.Time, topic string) *Devices {
	return &Devices{store: st, cursors: cursors, now: now, topic: topic}
}

var errNoDevice = apperr.New(apperr.NotFound, "not_found", "no such device")

// RegisterDevice stores the caller's device. created is false when the token already was the
// caller's (the same device comes back); a token another user held moves to the caller.
func (d *Devices) RegisterDevice(ctx context.Context, userID uuid.UUID, r Registration) (dev Device, created bool, err error) {
	if d.topic != "" && r.BundleID != d.topic {
		return Device{}, false, apperr.New(apperr.Unprocessable, "device_bundle_mismatch", "this server sends notifications to another app").
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/bundle_id", Detail: "not the app this server notifies"})
	}
	id := uuid.New()
	row, err := d.store.Queries().RegisterDevice(ctx, db.RegisterDeviceParams{ID: id, UserID: userID, Platform: r.Platform,
		Token: strings.ToLower(r.Token), Environment: r.Environment, BundleID: r.BundleID, Now: d.now()})
	if err != nil {
		return Device{}, false, store.MapError(err)
	}
	return deviceFromRow(row), row.ID == id, nil
}

// ListDevices pages through the caller's devices, oldest first.
func (d *Devices) ListDevices(ctx context.Context, userID uuid.UUID, req page.Request) (page.Page[Device], error) {
	return page.Fetch(ctx, d.cursors, page.List[db.Device, page.TimeID]{
		Name: "devices", Owner: userID,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.Device, error) {
			at, id := after.Split()
			return d.store.Reader(ctx, userID).ListDevices(ctx, db.ListDevicesParams{UserID: userID, AfterCreated: at, AfterID: id, MaxRows: limit})
		},
		Position: func(r db.Device) page.TimeID { return page.At(r.CreatedAt, r.ID) },
	}, req, deviceFromRow)
}

// DeleteDevice unregisters one of the caller's devices; another user's is "not found".
func (d *Devices) DeleteDevice(ctx context.Context, userID, id uuid.UUID) error {
	n, err := d.store.Queries().DeleteDevice(ctx, db.DeleteDeviceParams{ID: id, UserID: userID})
	if err != nil {
		return store.MapError(err)
	}
	if n == 0 {
		return errNoDevice
	}
	return nil
}

func deviceFromRow(r db.Device) Device {
	return Device{ID: r.ID, Platform: r.Platform, Token: r.Token, Environment: r.Environment, BundleID: r.BundleID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
