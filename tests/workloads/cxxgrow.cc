// Grows a std::vector of strings and a std::map from two functions, for the
// unwinder's tests: the pages are first touched inside libstdc++ and libc
// (operator new, the vector's reallocation copy, the map's node allocation),
// none of which keeps frame pointers, and the program is built with -O2.
//
// usage: cxxgrow [-g CGROUP_PROCS_FILE] [-l MIB_EACH] [-w START_FILE]
//                [-r READY_FILE] [-h HOLD_SECS]
#include <array>
#include <map>
#include <string>
#include <vector>

#include "workload.h"

static std::vector<std::string> kept_strings;
static std::map<long, std::array<char, 240>> kept_nodes;

__attribute__((noinline)) static void grow_vector(size_t bytes)
{
	for (size_t done = 0; done < bytes; done += 1000)
		kept_strings.emplace_back(1000, 'v');
}

__attribute__((noinline)) static void grow_map(size_t bytes)
{
	long key = 0;

	for (size_t done = 0; done < bytes; done += 256) {
		std::array<char, 240> v;

		v.fill('m');
		kept_nodes.emplace(key++, v);
	}
}

int main(int argc, char **argv)
{
	struct workload w = {};

	w.mib = 32;
	workload_begin(&w, argc, argv);
	grow_vector(w.mib << 20);
	grow_map(w.mib << 20);
	workload_end(&w);
	return 0;
}
