#include "common/metrics/http_endpoint.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio.hpp>

namespace gspo::common {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxRequestBytes = 8192;
constexpr int kMaxConnections = 64;
constexpr auto kClientTimeout = std::chrono::seconds(5);

std::string Response(int code, const char* reason, const std::string& content_type,
                     const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const MetricsHttpEndpoint::BodyFn* body, std::atomic<int>* live)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        buffer_(kMaxRequestBytes),
        body_(body),
        live_(live) {
    ++*live_;
  }
  ~Session() { --*live_; }

  void Run() {
    auto self = shared_from_this();
    timer_.expires_after(kClientTimeout);
    timer_.async_wait([self](const boost::system::error_code& error) {
      if (!error) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    asio::async_read_until(socket_, buffer_, "\r\n\r\n",
                           [self](const boost::system::error_code& error, std::size_t) {
                             if (error) {
                               self->Close();
                               return;
                             }
                             self->Answer();
                           });
  }

 private:
  void Answer() {
    std::istream stream(&buffer_);
    std::string method, target;
    stream >> method >> target;
    if (method != "GET" && method != "HEAD") {
      response_ = Response(405, "Method Not Allowed", "text/plain", "only GET\n");
    } else if (target != "/metrics" && target.rfind("/metrics?", 0) != 0) {
      response_ = Response(404, "Not Found", "text/plain", "try /metrics\n");
    } else {
      std::string body = (*body_)();
      response_ = Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                           method == "HEAD" ? std::string() : body);
      if (method == "HEAD") {
        response_ = Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", "");
      }
    }
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(response_),
                      [self](const boost::system::error_code&, std::size_t) { self->Close(); });
  }

  void Close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::streambuf buffer_;
  std::string response_;
  const MetricsHttpEndpoint::BodyFn* body_;
  std::atomic<int>* live_;
};

}  // namespace

struct MetricsHttpEndpoint::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  BodyFn body;
  std::atomic<int> live{0};
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error == asio::error::operation_aborted) return;
      if (!error) {
        if (live.load() >= kMaxConnections) {
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          std::make_shared<Session>(std::move(socket), &body, &live)->Run();
        }
      }
      Accept();
    });
  }
};

StatusOr<std::unique_ptr<MetricsHttpEndpoint>> MetricsHttpEndpoint::Start(
    const std::string& address, BodyFn body) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("--metrics-listen: expected HOST:PORT, got '" + address + "'");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
  }
  if (port < 0 || port > 65535) {
    return InvalidArgumentError("--metrics-listen: expected a port 0..65535 in '" + address + "'");
  }
  auto impl = std::make_unique<Impl>();
  impl->body = std::move(body);
  boost::system::error_code error;
  const auto ip = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, error);
  if (error) return InvalidArgumentError("--metrics-listen: bad address '" + host + "'");
  tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  impl->acceptor.open(endpoint.protocol(), error);
  if (!error) impl->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) impl->acceptor.bind(endpoint, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return UnavailableError("--metrics-listen " + address + ": " + error.message());
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<MetricsHttpEndpoint>(new MetricsHttpEndpoint(std::move(impl)));
}

MetricsHttpEndpoint::MetricsHttpEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsHttpEndpoint::~MetricsHttpEndpoint() { Stop(); }

int MetricsHttpEndpoint::port() const { return impl_->acceptor.local_endpoint().port(); }

void MetricsHttpEndpoint::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace gspo::common
