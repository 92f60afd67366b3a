// minimal_cxx.cpp - the smallest C++ host of libdisent (C++11): the C API
// behind RAII handles and exceptions; loads a trained model, encodes two
// observations, swaps one latent part between them and decodes.
//
//   minimal_cxx MODEL [X.npy] [PART]
//
// Prints exactly what examples/minimal.c prints.
#include <disent.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dsn {

// One deleter for every handle type: std::unique_ptr calls the right _free.
struct Free {
    void operator()(dsn_model *p) const { dsn_model_free(p); }
    void operator()(dsn_session *p) const { dsn_session_free(p); }
    void operator()(dsn_encoding *p) const { dsn_encoding_free(p); }
    void operator()(dsn_dataset *p) const { dsn_dataset_free(p); }
};
template <class T> using Ptr = std::unique_ptr<T, Free>;

struct Error : std::runtime_error {
    explicit Error(const std::string &what) : std::runtime_error(what) {}
};

inline void check(dsn_status st, const char *call)
{
    if (st != DSN_OK) throw Error(std::string(call) + ": " + dsn_status_string(st) + ": " + dsn_last_error());
}

inline Ptr<dsn_model> load(const std::string &path)
{
    dsn_model *m = nullptr;
    check(dsn_model_load(&m, path.c_str()), "dsn_model_load");
    return Ptr<dsn_model>(m);
}
inline Ptr<dsn_session> session(const dsn_model &m, size_t max_items)
{
    dsn_session *s = nullptr;
    check(dsn_session_create(&s, &m, max_items), "dsn_session_create");
    return Ptr<dsn_session>(s);
}
inline Ptr<dsn_encoding> encoding(const dsn_model &m, size_t max_items)
{
    dsn_encoding *e = nullptr;
    check(dsn_encoding_create(&e, &m, max_items), "dsn_encoding_create");
    return Ptr<dsn_encoding>(e);
}
inline std::vector<float> get(const dsn_encoding &e, const char *part, size_t *rows, size_t *dim)
{
    check(dsn_encoding_get(&e, nullptr, 0, rows, dim, part, "value"), "dsn_encoding_get");
    std::vector<float> v(*rows * *dim);
    check(dsn_encoding_get(&e, v.data(), v.size(), nullptr, nullptr, part, "value"), "dsn_encoding_get");
    return v;
}

} // namespace dsn

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: minimal_cxx MODEL [X.npy] [PART]\n");
        return 2;
    }
    try {
        auto m = dsn::load(argv[1]);
        dsn_model_info info = DSN_MODEL_INFO_INIT;
        dsn_part_info first = DSN_PART_INFO_INIT;
        dsn::check(dsn_model_describe(m.get(), &info), "dsn_model_describe");
        dsn::check(dsn_model_part(m.get(), &first, 0), "dsn_model_part");
        const size_t n = info.obs_size;
        const char *part = argc > 3 ? argv[3] : first.name;
        std::printf("model: %s, %zu floats per observation, %d parts\n", info.family, n, info.num_parts);

        std::vector<float> x(2 * n), out(2 * n);
        if (argc > 2) {
            dsn_dataset *raw = nullptr;
            dsn::check(dsn_dataset_from_npy(&raw, argv[2], nullptr), "dsn_dataset_from_npy");
            dsn::Ptr<dsn_dataset> ds(raw);
            dsn::check(dsn_dataset_get(ds.get(), x.data(), n, nullptr, 0), "dsn_dataset_get");
            dsn::check(dsn_dataset_get(ds.get(), x.data() + n, n, nullptr, 1), "dsn_dataset_get");
        } else {
            for (size_t i = 0; i < n; i++) {
                x[i] = (float)(i % 7) / 7.0f;
                x[n + i] = (float)(i % 3) / 3.0f;
            }
        }

        auto s = dsn::session(*m, 1);
        auto a = dsn::encoding(*m, 1), b = dsn::encoding(*m, 1);
        dsn::check(dsn_encode(s.get(), a.get(), x.data(), 1, nullptr), "dsn_encode");
        dsn::check(dsn_encode(s.get(), b.get(), x.data() + n, 1, nullptr), "dsn_encode");

        size_t rows = 0, dim = 0;
        std::vector<float> before = dsn::get(*b, part, &rows, &dim);
        std::printf("part '%s' of b: %zu x %zu, first value %.6f\n", part, rows, dim, before[0]);

        dsn::check(dsn_swap(a.get(), b.get(), part), "dsn_swap");
        std::printf("swap: a now holds b's '%s': %s\n", part, dsn::get(*a, part, &rows, &dim) == before ? "ok" : "FAILED");

        dsn::check(dsn_decode(s.get(), out.data(), n, a.get()), "dsn_decode");
        dsn::check(dsn_decode(s.get(), out.data() + n, n, b.get()), "dsn_decode");
        for (int k = 0; k < 2; k++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++) sum += out[(size_t)k * n + i];
            std::printf("decoded %c: sum %.6f, first %.6f, finite %s\n", k ? 'b' : 'a', sum, out[(size_t)k * n],
                        std::isfinite(sum) ? "yes" : "no");
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "minimal_cxx: %s\n", e.what());
        return 1;
    }
    return 0;
}
