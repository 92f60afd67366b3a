// Compiles the public header as C++ (with -Wall -Wextra -Werror) and calls a
// few functions through it, proving the extern "C" linkage works.
#include <disent.h>

#include <cstdio>
#include <cstring>

int main()
{
    if (dsn_version_number() != DSN_VERSION_NUMBER) {
        std::printf("version mismatch: header %d, library %d\n", DSN_VERSION_NUMBER, dsn_version_number());
        return 1;
    }
    if (std::strcmp(dsn_version_string(), DSN_VERSION_STRING) != 0) return 1;
    if (std::strcmp(dsn_status_string(DSN_OK), "ok") != 0) return 1;
    std::printf("C++ header test: libdisent %s\n", dsn_version_string());
    return 0;
}
