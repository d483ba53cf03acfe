// FastSearchHandler: the channel handler in front of Hummingbird's request handling (one per
// connection, after the HTTP codec) that lets FastSearch answer a search request in the
// channelRead that completes it. It holds a candidate request's head and body (up to the body
// limit) and, once the request has ended, writes FastSearch's response itself; when FastSearch
// declines, or the body grows past the limit, the held parts go on to Hummingbird unchanged.
// Responses stay in request order under HTTP pipelining: while a request passed on to
// Hummingbird has not been answered (its response's end not yet written), every later request
// is passed on too. Hummingbird's connection state handler, after this one, never sees the
// requests answered here: harmless while the server sets no idle timeout (it does not), but one
// set later would close a connection busy with such searches as idle.
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers search requests on the event loop; passes everything else on.
final class FastSearchHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Mode {
        /// Between requests.
        case idle
        /// Holding a candidate search request until its end.
        case holding(head: HTTPRequest, space: String, body: ByteBuffer)
        /// Passing the current request's parts on to Hummingbird.
        case passing
    }

    private let search: FastSearch
    private var mode = Mode.idle
    /// Requests passed on whose response has not ended.
    private var passedInFlight = 0
    /// Graceful shutdown asked to close the connection while a request was held: the event
    /// goes on (to Hummingbird's connection state handler, which closes an idle connection at
    /// once) only after that request is answered or passed on, so it is not cut off.
    private var quiescePending = false
    /// The `Date` field's value and the second it names.
    private var date: (second: Int, text: String) = (-1, "")

    init(search: FastSearch) {
        self.search = search
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (mode, part) {
        case (.idle, .head(let head)):
            if passedInFlight == 0, let space = search.candidate(head) {
                mode = .holding(head: head, space: space, body: context.channel.allocator.buffer(capacity: 0))
            } else {
                pass(.head(head), context: context)
                mode = .passing
            }
        case (.holding(let head, let space, var body), .body(var chunk)):
            if body.readableBytes + chunk.readableBytes > search.state.configuration.maxBodyBytes {
                // Over the limit: the route answers 413.
                pass(.head(head), context: context)
                context.fireChannelRead(wrapInboundOut(.body(body)))
                context.fireChannelRead(wrapInboundOut(.body(chunk)))
                mode = .passing
            } else {
                mode = .idle  // drop the buffer's second reference before appending
                body.writeBuffer(&chunk)
                mode = .holding(head: head, space: space, body: body)
            }
        case (.holding(let head, let space, let body), .end(let trailers)):
            mode = .idle
            if trailers == nil, let response = search.respond(head, space: space, body: body) {
                answer(with: response, context: context)
            } else {
                pass(.head(head), context: context)
                context.fireChannelRead(wrapInboundOut(.body(body)))
                context.fireChannelRead(wrapInboundOut(.end(trailers)))
            }
        case (.passing, .end):
            mode = .idle
            context.fireChannelRead(data)
        case (.passing, _):
            context.fireChannelRead(data)
        case (.holding, .head), (.idle, _):
            // A stray part (the codec never sends one) goes on for Hummingbird to refuse.
            context.fireChannelRead(data)
        }
        if quiescePending, !isHolding {
            quiescePending = false
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    /// Whether a request is held.
    private var isHolding: Bool {
        if case .holding = mode { return true }
        return false
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, isHolding {
            quiescePending = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // Hummingbird also answers a request the codec could not parse (400, then it closes),
            // which never reached this handler as a head: never below zero.
            passedInFlight = max(0, passedInFlight - 1)
        }
        context.write(data, promise: promise)
    }

    /// Passes a request's head on to Hummingbird.
    private func pass(_ head: HTTPRequestPart, context: ChannelHandlerContext) {
        passedInFlight += 1
        context.fireChannelRead(wrapInboundOut(head))
    }

    /// Writes a 200 JSON response with `body`, with the fields Hummingbird adds to its own.
    private func answer(with body: ByteBuffer, context: ChannelHandlerContext) {
        var response = HTTPResponse(status: .ok)
        response.headerFields[.contentType] = "application/json"
        response.headerFields[.contentLength] = String(body.readableBytes)
        response.headerFields[.date] = currentDate()
        response.headerFields[.server] = MnemoHTTPServer.serverName
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The `Date` field's value now (IMF-fixdate), formatted once a second.
    private func currentDate() -> String {
        var now = time(nil)
        if Int(now) != date.second {
            var parts = tm()
            var text = [CChar](repeating: 0, count: 32)
            if gmtime_r(&now, &parts) != nil, strftime(&text, text.count, "%a, %d %b %Y %H:%M:%S GMT", &parts) > 0 {
                date = (Int(now), String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return date.text
    }
}
