import Inventory
