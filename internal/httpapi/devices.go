package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/push"
)

// DeviceHandlers serve the `push` tag: the caller's devices for push notifications.
type DeviceHandlers struct {
	devices *push.Devices
}

// NewDeviceHandlers returns the device handlers.
func NewDeviceHandlers(devices *push.Devices) *DeviceHandlers {
	return &DeviceHandlers{devices: devices}
}

// RegisterDevice registers (or re-registers) the caller's device: 201 when new to the caller.
func (h *DeviceHandlers) RegisterDevice(ctx context.Context, req api.RegisterDeviceRequestObject) (api.RegisterDeviceResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	d, created, err := h.devices.RegisterDevice(ctx, p.UserID, push.Registration{Platform: string(req.Body.Platform), Token: req.Body.Token,
		Environment: string(req.Body.Environment), BundleID: req.Body.BundleId})
	if err != nil {
		return nil, err
	}
	if created {
		return api.RegisterDevice201JSONResponse(deviceBody(d)), nil
	}
	return api.RegisterDevice200JSONResponse(deviceBody(d)), nil
}

// ListDevices pages through the caller's devices, oldest first.
func (h *DeviceHandlers) ListDevices(ctx context.Context, req api.ListDevicesRequestObject) (api.ListDevicesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(infallible(deviceBody))(h.devices.ListDevices(ctx, p.UserID, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListDevices200JSONResponse(body), err
}

// DeleteDevice unregisters one of the caller's devices.
func (h *DeviceHandlers) DeleteDevice(ctx context.Context, req api.DeleteDeviceRequestObject) (api.DeleteDeviceResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.devices.DeleteDevice(ctx, p.UserID, req.Id); err != nil {
		return nil, err
	}
	return api.DeleteDevice204Response{}, nil
}

func deviceBody(d push.Device) api.Device {
	return api.Device{Id: d.ID, Platform: api.DevicePlatform(d.Platform), Token: d.Token, Environment: api.DeviceEnvironment(d.Environment),
		BundleId: d.BundleID, CreatedAt: apitime.New(d.CreatedAt), UpdatedAt: apitime.New(d.UpdatedAt)}
}
