"""The simulated city: the same plan for the demo, the simulator and the benchmarks."""

from xueliang.demo.city import CITY, DISTRICTS, ORGANIZATIONS, CityChannel, District, city_channels
from xueliang.demo.seed import seed_city

__all__ = ["CITY", "DISTRICTS", "ORGANIZATIONS", "CityChannel", "District", "city_channels", "seed_city"]
