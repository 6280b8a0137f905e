package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Problem codes of the pool's errors.
const (
	CodeUnreachable       = "mcp_unreachable"         // BadGateway: no connection, or it broke
	CodeTimeout           = "mcp_timeout"             // Timeout: the call's deadline passed
	CodeProtocolError     = "mcp_protocol_error"      // BadGateway: the server spoke something else than MCP
	CodeAddressNotAllowed = "mcp_address_not_allowed" // Unprocessable: the SSRF guard refused the address
	CodeToolNotFound      = "mcp_tool_not_found"      // NotFound: no such tool, or outside the allowlist
	CodeStdioNotAllowed   = "mcp_stdio_not_allowed"   // Forbidden: stdio is turned off (CCB_MCP_ALLOW_STDIO)
)

// ErrCancelled wraps context.Canceled when the caller's context ended a connect or a call; it is
// not an apperr because nobody is left to show it to (the chat loop checks errors.Is).
var ErrCancelled = fmt.Errorf("mcp: cancelled: %w", context.Canceled)

// mapError turns what the SDK or the network reported during work bounded by ctx into the
// contract's error. Details are fixed sentences: SDK messages can carry URLs and response bodies.
func mapError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, errAddressNotAllowed):
		return apperr.Wrap(err, apperr.Unprocessable, CodeAddressNotAllowed,
			"the server's address is not allowed (private, loopback or link-local networks are refused)")
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w: %v", ErrCancelled, err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return timeoutError(err)
	case unreachable(err):
		return apperr.Wrap(err, apperr.BadGateway, CodeUnreachable, "the MCP server could not be reached")
	}
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) {
		return apperr.Wrap(err, apperr.BadGateway, CodeProtocolError,
			fmt.Sprintf("the MCP server answered with JSON-RPC error %d", rpcErr.Code))
	}
	return apperr.Wrap(err, apperr.BadGateway, CodeProtocolError, "the MCP server's answer was not understood")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// unreachable reports a connection that could not be made or was lost.
func unreachable(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, sdk.ErrConnectionClosed) || errors.Is(err, sdk.ErrSessionMissing) {
		return true
	}
	// Some SDK paths flatten the cause into text.
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "no such host") || strings.Contains(msg, "broken pipe")
}

// sessionGone reports an error after which the pooled session cs is useless but a new one may
// work: the connection closed or could not be reopened, or the server forgot the session (a
// restarted server answers 404, or a bare 400 for a session id it never issued; the SDK reports
// the latter only as the status text).
func sessionGone(err error, cs *sdk.ClientSession) bool {
	if errors.Is(err, sdk.ErrConnectionClosed) || errors.Is(err, sdk.ErrSessionMissing) || unreachable(err) {
		return true
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "session") && strings.Contains(msg, "not found") {
		return true
	}
	return cs.ID() != "" && (strings.HasSuffix(msg, strings.ToLower(http.StatusText(http.StatusBadRequest))) ||
		strings.HasSuffix(msg, strings.ToLower(http.StatusText(http.StatusNotFound))))
}

func timeoutError(cause error) error {
	return apperr.Wrap(cause, apperr.Timeout, CodeTimeout, "the MCP server did not answer in time")
}
