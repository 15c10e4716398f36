#include "harness/data/image_decode.h"

// clang-format off
#include <cstdio>  // jpeglib.h needs FILE declared first
#include <jpeglib.h>
#include <jerror.h>
// clang-format on
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>

#include "harness/data/error.h"

namespace acm::data {

namespace {

std::string first_bytes_hex(const std::uint8_t* data, std::size_t size) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) {
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", data[i]);
    out += buf;
  }
  return out.empty() ? "none" : out;
}

bool is_jpeg(const std::uint8_t* data, std::size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

bool is_png(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return size >= 8 && std::memcmp(data, kPng, 8) == 0;
}

[[noreturn]] void fail_not_an_image(const std::string& path, const std::uint8_t* data, std::size_t size) {
  fail_at(path, 0,
          "not a JPEG or PNG image (" + std::to_string(size) + " bytes, starting " + first_bytes_hex(data, size) +
              "; a JPEG starts ff d8 ff, a PNG 89 50 4e 47)");
}

// libjpeg reports errors by calling error_exit, which must not return: it jumps back to the setjmp of the
// `guarded` call below, so no C++ object with a destructor lives in the frames it unwinds.
struct JpegErrors {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;  // a premature end: libjpeg fills the rest with grey and warns
};

void on_jpeg_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

// Warnings ("extraneous bytes before marker", which a few ImageNet files carry) leave a whole image and are
// ignored; a premature end leaves grey where the data stopped, so it is remembered and becomes an error.
void on_jpeg_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  if (c->err->msg_code == JWRN_JPEG_EOF && !e->truncated) {
    e->truncated = true;
    (*c->err->format_message)(c, e->message);
  }
  ++c->err->num_warnings;
}

// One decompressor per thread, reused from image to image, with its row buffers.
struct JpegDecoder {
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  std::vector<std::uint8_t> rows, scratch;
  JpegDecoder() {
    std::memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&errors.mgr);
    errors.mgr.error_exit = on_jpeg_error;
    errors.mgr.emit_message = on_jpeg_message;
    jpeg_create_decompress(&cinfo);
  }
  ~JpegDecoder() { jpeg_destroy_decompress(&cinfo); }

  // Runs `body` (libjpeg calls only) and returns false with errors.message set when libjpeg failed.
  template <typename F>
  bool guarded(F&& body) {
    if (setjmp(errors.jump)) {
      jpeg_abort_decompress(&cinfo);
      return false;
    }
    body();
    return true;
  }
};

JpegDecoder& decoder() {
  thread_local JpegDecoder d;
  return d;
}

// The rows [row0, row1) and columns [col0, col1) of the DCT-scaled image, as RGBX in d.rows. `scale_of` picks
// the scale (in eighths) from the full size, `region_of` the region from the scaled size.
struct JpegRegion {
  std::int64_t width = 0, height = 0;          // full size
  std::int64_t scaled_w = 0, scaled_h = 0;     // at the chosen scale
  std::int64_t eighths = 8;
  std::int64_t row0 = 0, row1 = 0, col0 = 0, col1 = 0;  // what was decoded (col0/col1 widened to iMCUs)
  std::int64_t stride = 0;
};

template <typename ScaleOf, typename RegionOf>
JpegRegion decode_jpeg_region(JpegDecoder& d, const std::string& path, const std::uint8_t* data, std::size_t size,
                              ScaleOf scale_of, RegionOf region_of) {
  jpeg_decompress_struct* c = &d.cinfo;
  d.errors.truncated = false;
  if (!d.guarded([&] {
        jpeg_mem_src(c, data, static_cast<unsigned long>(size));
        jpeg_read_header(c, TRUE);
      })) {
    fail_file(path, std::string("corrupt JPEG header: ") + d.errors.message);
  }
  JpegRegion r;
  r.width = c->image_width;
  r.height = c->image_height;
  const std::string what = std::to_string(size) + " bytes, " + std::to_string(r.width) + "x" + std::to_string(r.height);
  r.eighths = scale_of(r.width, r.height);
  const bool cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
  c->scale_num = static_cast<unsigned>(r.eighths);
  c->scale_denom = 8;
  c->out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGBX;
  if (!d.guarded([&] { jpeg_calc_output_dimensions(c); })) fail_file(path, "corrupt JPEG (" + what + "): " + d.errors.message);
  r.scaled_w = c->output_width;
  r.scaled_h = c->output_height;
  region_of(r);
  JDIMENSION x0 = static_cast<JDIMENSION>(r.col0), xw = static_cast<JDIMENSION>(r.col1 - r.col0);
  const std::int64_t n_rows = r.row1 - r.row0;
  d.rows.resize(static_cast<std::size_t>(n_rows * r.scaled_w * 4));
  const bool ok = d.guarded([&] {
    jpeg_start_decompress(c);
    if (xw < c->output_width) jpeg_crop_scanline(c, &x0, &xw);  // x0 moves down to an iMCU edge
    if (r.row0 > 0) jpeg_skip_scanlines(c, static_cast<JDIMENSION>(r.row0));
    const std::int64_t stride = static_cast<std::int64_t>(c->output_width) * 4;
    for (std::int64_t y = 0; y < n_rows; ++y) {
      JSAMPROW row = d.rows.data() + y * stride;
      jpeg_read_scanlines(c, &row, 1);
    }
    jpeg_abort_decompress(c);  // the rows below the crop are never decoded
  });
  if (!ok) fail_file(path, "corrupt JPEG (" + what + "): " + d.errors.message);
  if (d.errors.truncated) fail_file(path, "truncated JPEG (" + what + "): " + d.errors.message);
  r.col0 = x0;
  r.col1 = x0 + xw;
  r.stride = static_cast<std::int64_t>(xw) * 4;
  if (cmyk) {
    // Adobe's inverted CMYK (what Photoshop writes, and ImageNet's 22 CMYK files are): R = C·K/255, as PIL.
    for (std::size_t p = 0, n = static_cast<std::size_t>(n_rows) * xw; p < n; ++p) {
      std::uint8_t* px = d.rows.data() + 4 * p;
      const unsigned k = px[3];
      for (int ch = 0; ch < 3; ++ch) px[ch] = static_cast<std::uint8_t>((px[ch] * k + 127) / 255);
    }
  }
  return r;
}

std::int64_t scaled_size(std::int64_t n, std::int64_t eighths) { return (n * eighths + 7) / 8; }

RgbImage decode_png(const std::string& path, const std::uint8_t* data, std::size_t size) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, data, size)) {
    fail_file(path, std::string("corrupt PNG: ") + png.message);
  }
  png.format = PNG_FORMAT_RGB;  // grey, palette and alpha (composited on black) all become RGB
  RgbImage img;
  img.height = png.height;
  img.width = png.width;
  img.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    const std::string msg = png.message;
    png_image_free(&png);
    fail_file(path, "corrupt or truncated PNG (" + std::to_string(size) + " bytes): " + msg);
  }
  return img;
}

// Whether `eighths` keeps at least `oversample` decoded pixels per output sample of the axis.
bool covers(const ResampleAxis& a, std::int64_t n, std::int64_t eighths, double oversample) {
  const double scaled = static_cast<double>(scaled_size(n, eighths)) / static_cast<double>(n);
  return (a.box1 - a.box0) * scaled >= oversample * static_cast<double>(a.total);
}

}  // namespace

RgbImage decode_image(const std::string& path, const std::uint8_t* data, std::size_t size, std::int64_t min_side) {
  if (is_png(data, size)) return decode_png(path, data, size);
  if (!is_jpeg(data, size)) fail_not_an_image(path, data, size);
  JpegDecoder& d = decoder();
  auto scale_of = [&](std::int64_t w, std::int64_t h) {
    for (std::int64_t k = 1; min_side > 0 && k < 8; ++k) {
      if (std::min(scaled_size(w, k), scaled_size(h, k)) >= min_side) return k;
    }
    return std::int64_t{8};
  };
  const JpegRegion r = decode_jpeg_region(d, path, data, size, scale_of, [](JpegRegion& g) {
    g.row0 = 0;
    g.row1 = g.scaled_h;
    g.col0 = 0;
    g.col1 = g.scaled_w;
  });
  RgbImage img;
  img.height = r.scaled_h;
  img.width = r.scaled_w;
  img.pixels.resize(static_cast<std::size_t>(img.height * img.width * 3));
  for (std::size_t p = 0, n = static_cast<std::size_t>(img.height * img.width); p < n; ++p) {
    std::memcpy(img.pixels.data() + 3 * p, d.rows.data() + 4 * p, 3);
  }
  return img;
}

DecodeStats decode_resampled(const std::string& path, const std::uint8_t* data, std::size_t size,
                             const CropPlanner& planner, std::uint8_t* out, double oversample) {
  DecodeStats st;
  if (is_png(data, size)) {
    const RgbImage img = decode_png(path, data, size);
    resample_rgb(img, planner(img.width, img.height), out);
    st.width = st.decoded_cols = img.width;
    st.height = st.decoded_rows = img.height;
    return st;
  }
  if (!is_jpeg(data, size)) fail_not_an_image(path, data, size);
  JpegDecoder& d = decoder();
  CropPlan plan;
  ResampleTaps tx, ty;
  auto scale_of = [&](std::int64_t w, std::int64_t h) {
    plan = planner(w, h);
    // Powers of two only, as PIL's draft mode: the 3/8, 5/8, 3/4 and 7/8 IDCTs land further from a full-size
    // decode + triangle filter (a mean of 3-4 levels on the anchor image) than 1/2 and 1/4 do.
    for (std::int64_t k = 1; oversample > 0 && k < 8; k *= 2) {
      if (covers(plan.x, w, k, oversample) && covers(plan.y, h, k, oversample)) return k;
    }
    return std::int64_t{8};
  };
  auto region_of = [&](JpegRegion& g) {
    tx = resample_taps(scale_axis(plan.x, g.width, g.scaled_w));
    ty = resample_taps(scale_axis(plan.y, g.height, g.scaled_h));
    g.row0 = ty.lo;
    g.row1 = ty.hi;
    // Two columns of margin: chroma upsampling at the edge of a cropped decode sees no neighbour, so the
    // outermost columns (and only they) could differ from a full decode's.
    g.col0 = std::max<std::int64_t>(0, tx.lo - 2);
    g.col1 = std::min<std::int64_t>(g.scaled_w, tx.hi + 2);
  };
  const JpegRegion r = decode_jpeg_region(d, path, data, size, scale_of, region_of);
  resample_rgbx(d.rows.data(), r.stride, r.col0, tx, ty, out, d.scratch);
  st.width = r.width;
  st.height = r.height;
  st.scale_eighths = r.eighths;
  st.decoded_rows = r.row1 - r.row0;
  st.decoded_cols = r.col1 - r.col0;
  return st;
}

void resample_rgb(const RgbImage& in, const CropPlan& plan, std::uint8_t* out) {
  const ResampleTaps tx = resample_taps(plan.x), ty = resample_taps(plan.y);
  thread_local std::vector<std::uint8_t> rgbx, scratch;
  const std::int64_t n_rows = ty.hi - ty.lo, cols = tx.hi - tx.lo;
  rgbx.resize(static_cast<std::size_t>(n_rows * cols * 4));
  for (std::int64_t y = 0; y < n_rows; ++y) {
    const std::uint8_t* src = in.pixels.data() + ((ty.lo + y) * in.width + tx.lo) * 3;
    std::uint8_t* dst = rgbx.data() + y * cols * 4;
    for (std::int64_t x = 0; x < cols; ++x) {
      std::memcpy(dst + 4 * x, src + 3 * x, 3);
      dst[4 * x + 3] = 0;
    }
  }
  resample_rgbx(rgbx.data(), cols * 4, tx.lo, tx, ty, out, scratch);
}

}  // namespace acm::data
