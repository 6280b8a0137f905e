package httpapi

import "github.com/ccbackend/ccbackend/internal/page"

// listBody is the contract's list envelope; every generated XxxList type has this shape, so a
// listBody[api.Xxx] converts to it.
type listBody[U any] struct {
	Data       []U
	HasMore    bool
	NextCursor *string
}

// listOf returns a renderer of a list call's result, (page, error), through convert; written
// as listOf(convert)(service call) so each list handler is one line.
func listOf[T, U any](convert func(T) (U, error)) func(page.Page[T], error) (listBody[U], error) {
	return func(p page.Page[T], err error) (listBody[U], error) {
		if err != nil {
			return listBody[U]{}, err
		}
		out := listBody[U]{Data: make([]U, len(p.Items)), HasMore: p.HasMore(), NextCursor: optionalCursor(p.Next)}
		for i, it := range p.Items {
			if out.Data[i], err = convert(it); err != nil {
				return listBody[U]{}, err
			}
		}
		return out, nil
	}
}

// infallible adapts a conversion that cannot fail to listOf.
func infallible[T, U any](f func(T) U) func(T) (U, error) {
	return func(t T) (U, error) { return f(t), nil }
}
