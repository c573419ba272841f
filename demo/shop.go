package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

var (
	regions   = []string{"us-east", "us-west", "eu-west", "ap-south"}
	tiers     = []string{"free", "free", "free", "pro", "enterprise"}
	providers = []weighted{{"stripe", 45}, {"stripe_v3", 25}, {"paypal", 20}, {"adyen", 10}}
	routes    = []weighted{{"/", 40}, {"/product/{id}", 30}, {"/cart", 15}, {"/checkout", 15}}
)

type weighted struct {
	value  string
	weight int
}

func (g *Generator) pick(ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	n := g.rng.IntN(total)
	for _, w := range ws {
		if n < w.weight {
			return w.value
		}
		n -= w.weight
	}
	return ws[len(ws)-1].value
}

// latency draws a log-normal duration around median, the usual shape of
// service latencies.
func (g *Generator) latency(median time.Duration) time.Duration {
	return time.Duration(float64(median) * math.Exp(0.35*g.rng.NormFloat64()))
}

func (g *Generator) svc(name string) *service {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.services[name]
}

// step is a piece of simulated work: it starts at a time and returns when it
// ended and whether it failed.
type step func(ctx context.Context, span trace.Span, start time.Time) (time.Time, error)

// rpc simulates a call from one service to another: a client span in the
// caller, a server span in the callee, the callee's work inside, network
// time around it, and the callee's RED metric.
func (g *Generator) rpc(ctx context.Context, from, to, op string, start time.Time, work step, attrs ...attribute.KeyValue) (time.Time, error) {
	caller, callee := g.svc(from), g.svc(to)
	cctx, client := caller.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("rpc.service", to)))
	serverStart := start.Add(g.latency(300 * time.Microsecond))
	sattrs := append([]attribute.KeyValue{attribute.String("version", callee.version)}, attrs...)
	sctx, server := callee.tracer.Start(cctx, op, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(serverStart),
		trace.WithAttributes(sattrs...))
	end, err := work(sctx, server, serverStart)
	status := 200
	if err != nil {
		status = 500
		server.SetStatus(codes.Error, err.Error())
		client.SetStatus(codes.Error, err.Error())
	}
	server.SetAttributes(attribute.Int("http.response.status_code", status))
	server.End(trace.WithTimestamp(end))
	callee.duration.Record(ctx, end.Sub(serverStart).Seconds(), metric.WithAttributes(
		attribute.String("http.route", op), attribute.Int("http.response.status_code", status)))
	end = end.Add(g.latency(300 * time.Microsecond))
	client.End(trace.WithTimestamp(end))
	return end, err
}

// query simulates a database call from a service to postgres.
func (g *Generator) query(ctx context.Context, from, stmt string, median time.Duration, start time.Time) (time.Time, error) {
	return g.rpc(ctx, from, "postgres", stmt, start, func(_ context.Context, span trace.Span, t time.Time) (time.Time, error) {
		span.SetAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.statement", stmt))
		t = t.Add(g.own("postgres", median))
		if g.rng.Float64() < 0.002 {
			return t, errors.New("deadlock detected")
		}
		return t, nil
	})
}

func (g *Generator) emit(ctx context.Context, svc string, at time.Time, sev log.Severity, body string, attrs ...attribute.KeyValue) {
	var r log.Record
	r.SetTimestamp(at)
	r.SetObservedTimestamp(at)
	r.SetSeverity(sev)
	r.SetSeverityText(sev.String())
	r.SetBody(attribute.StringValue(body))
	r.AddAttributes(attrs...)
	g.svc(svc).logger.Emit(ctx, r)
}

// request plays one shop request from the frontend down.
func (g *Generator) request(ctx context.Context, now time.Time) {
	front := g.svc("frontend")
	route := g.pick(routes)
	method := "GET"
	if route == "/cart" || route == "/checkout" {
		method = "POST"
	}
	region := regions[g.rng.IntN(len(regions))]
	tier := tiers[g.rng.IntN(len(tiers))]
	fctx, span := front.tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(now),
		trace.WithAttributes(attribute.String("http.route", route), attribute.String("http.request.method", method),
			attribute.String("region", region), attribute.String("customer.tier", tier), attribute.String("version", front.version)))
	t := now.Add(g.own("frontend", 2*time.Millisecond))
	var err error
	switch route {
	case "/":
		t, err = g.rpc(fctx, "frontend", "inventory", "ListProducts", t, func(c context.Context, _ trace.Span, t time.Time) (time.Time, error) {
			return g.query(c, "inventory", "SELECT products", 4*time.Millisecond, t.Add(g.own("inventory", 3*time.Millisecond)))
		})
	case "/product/{id}":
		t, err = g.rpc(fctx, "frontend", "inventory", "GetProduct", t, func(c context.Context, _ trace.Span, t time.Time) (time.Time, error) {
			return g.query(c, "inventory", "SELECT product", 2*time.Millisecond, t.Add(g.own("inventory", 3*time.Millisecond)))
		}, attribute.Int("product.id", 1000+g.rng.IntN(200)))
	case "/cart":
		t, err = g.rpc(fctx, "frontend", "cart", "AddItem", t, func(c context.Context, _ trace.Span, t time.Time) (time.Time, error) {
			return g.cartWork(c, "INSERT cart_items", t)
		})
	case "/checkout":
		provider := g.pick(providers)
		span.SetAttributes(attribute.String("payment_provider", provider))
		t, err = g.rpc(fctx, "frontend", "checkout", "PlaceOrder", t, func(c context.Context, s trace.Span, t time.Time) (time.Time, error) {
			return g.checkout(c, s, t, provider, region)
		}, attribute.String("payment_provider", provider), attribute.String("region", region))
	}
	t = t.Add(g.own("frontend", time.Millisecond))
	status := 200
	if err != nil {
		status = 500
		span.SetStatus(codes.Error, err.Error())
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	span.End(trace.WithTimestamp(t))
	front.duration.Record(ctx, t.Sub(now).Seconds(), metric.WithAttributes(
		attribute.String("http.route", route), attribute.Int("http.response.status_code", status)))
	sev := log.SeverityInfo
	if status >= 500 {
		sev = log.SeverityError
	}
	g.emit(fctx, "frontend", t, sev, fmt.Sprintf("%s %s %d %.1fms", method, route, status, float64(t.Sub(now))/1e6),
		attribute.String("http.route", route), attribute.Int("http.response.status_code", status), attribute.String("region", region))
}

func (g *Generator) checkout(ctx context.Context, span trace.Span, t time.Time, provider, region string) (time.Time, error) {
	var err error
	t = t.Add(g.own("checkout", 2*time.Millisecond))
	if t, err = g.rpc(ctx, "checkout", "cart", "GetCart", t, func(c context.Context, _ trace.Span, t time.Time) (time.Time, error) {
		return g.cartWork(c, "SELECT cart_items", t)
	}); err != nil {
		return t, fmt.Errorf("get cart: %w", err)
	}
	if t, err = g.rpc(ctx, "checkout", "inventory", "ReserveStock", t, func(c context.Context, _ trace.Span, t time.Time) (time.Time, error) {
		return g.query(c, "inventory", "UPDATE stock", 5*time.Millisecond, t.Add(g.own("inventory", 3*time.Millisecond)))
	}); err != nil {
		return t, fmt.Errorf("reserve stock: %w", err)
	}
	if t, err = g.rpc(ctx, "checkout", "shipping", "GetQuote", t, func(c context.Context, _ trace.Span, t time.Time) (time.Time, error) {
		t = t.Add(g.own("shipping", 15*time.Millisecond))
		if g.fails("shipping") {
			g.emit(c, "shipping", t, log.SeverityError, "quote failed: carrier API answered 503 for region "+region, attribute.String("region", region))
			return t, errors.New("carrier API unavailable")
		}
		return t, nil
	}, attribute.String("region", region)); err != nil {
		return t, fmt.Errorf("shipping quote: %w", err)
	}
	amount := math.Round((10+g.rng.Float64()*190)*100) / 100
	t, err = g.rpc(ctx, "checkout", "payment", "Charge", t, func(c context.Context, s trace.Span, t time.Time) (time.Time, error) {
		return g.charge(c, s, t, provider, amount)
	}, attribute.String("payment_provider", provider), attribute.Float64("amount", amount), attribute.String("currency", "USD"))
	if err != nil {
		g.emit(ctx, "checkout", t, log.SeverityError, "checkout failed: payment: "+err.Error(),
			attribute.String("payment_provider", provider))
		return t, fmt.Errorf("payment: %w", err)
	}
	orderID := fmt.Sprintf("ord-%08x", g.rng.Uint32())
	span.SetAttributes(attribute.String("order.id", orderID))
	g.emit(ctx, "checkout", t, log.SeverityInfo, "order placed "+orderID, attribute.String("payment_provider", provider), attribute.Float64("amount", amount))
	return t, nil
}

// charge is payment's work: a call to the provider's API. On the bad
// version, stripe_v3 charges wait on an exhausted connection pool.
func (g *Generator) charge(ctx context.Context, span trace.Span, t time.Time, provider string, amount float64) (time.Time, error) {
	pay := g.svc("payment")
	_, api := pay.tracer.Start(ctx, "POST /v1/charges", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(t),
		trace.WithAttributes(attribute.String("peer.service", provider+"-api"), attribute.String("payment_provider", provider)))
	d := g.latency(60 * time.Millisecond)
	var err error
	if pay.version == BadVersion && provider == "stripe_v3" {
		d += time.Duration(800+g.rng.IntN(1200)) * time.Millisecond
		if g.rng.Float64() < 0.35 {
			err = errors.New("card processor timeout: connection pool exhausted")
		}
	}
	end := t.Add(d)
	if err != nil {
		api.SetStatus(codes.Error, err.Error())
		span.RecordError(err, trace.WithTimestamp(end))
		g.emit(ctx, "payment", end, log.SeverityError, "charge failed: "+err.Error(),
			attribute.String("payment_provider", provider), attribute.Float64("amount", amount), attribute.String("version", pay.version))
	}
	api.End(trace.WithTimestamp(end))
	return end.Add(g.latency(time.Millisecond)), err
}

// cartWork is cart's own work on an item, then its query.
func (g *Generator) cartWork(ctx context.Context, stmt string, t time.Time) (time.Time, error) {
	t = t.Add(g.own("cart", 2*time.Millisecond))
	if g.fails("cart") {
		g.emit(ctx, "cart", t, log.SeverityError, "cart write failed: item store rejected "+stmt)
		return t, errors.New("cart store rejected the write")
	}
	return g.query(ctx, "cart", stmt, 3*time.Millisecond, t)
}
