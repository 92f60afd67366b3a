/* Built against an installed copy through pkg-config by scripts/check-all.sh. */
#include <disent.h>
#include <stdio.h>

int main(void)
{
    if (dsn_version_number() != DSN_VERSION_NUMBER) return 1;
    printf("linked libdisent %s through pkg-config\n", dsn_version_string());
    return 0;
}
